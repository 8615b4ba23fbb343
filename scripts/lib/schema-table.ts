import { z } from 'zod';

/** The part of a zod-generated JSON Schema the generated reference tables read. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}

export function toJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

export function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join(' | ');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  return (Array.isArray(s.type) ? s.type.join('|') : s.type) ?? 'any';
}

const cell = (v: string) => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown rows `| key | type | default | required | description |`; nested objects as dotted keys when `flatten`. */
export function optionRows(schema: JsonSchema, flatten: boolean, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const path = prefix + key;
    if (flatten && prop.type === 'object' && prop.properties) {
      out.push(...optionRows(prop, flatten, `${path}.`));
      continue;
    }
    const required = schema.required?.includes(key) && prop.default === undefined ? 'yes' : '';
    const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    out.push(`| \`${path}\` | ${cell(typeOf(prop))} | ${def} | ${required} | ${cell(prop.description ?? '')} |`);
  }
  return out;
}

export const TABLE_HEAD = ['| option | type | default | required | description |', '|---|---|---|---|---|'];
