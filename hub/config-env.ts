import { z } from 'zod';

/**
 * The hub config's environment variables: one name derived from each key path (`RB_<SECTION>_<KEY>`),
 * the older flat names kept as aliases, and the conversion of their text to the key's type.
 */

/**
 * Environment names of the flat config before the nested one whose derived name differs; the derived
 * name wins when both are set.
 */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  RB_API_TOKEN: 'auth.apiToken',
  RB_TOKEN_TTL: 'auth.tokenTtl',
  RB_REFRESH_TTL: 'auth.refreshTtl',
  RB_TLS_CERT: 'mqtt.tls.cert',
  RB_TLS_KEY: 'mqtt.tls.key',
};

/** `mqtt.publishRate` → `RB_MQTT_PUBLISH_RATE`. */
export function envName(path: string): string {
  return `RB_${path
    .split('.')
    .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

/** A key of the hub config (a leaf of its schema) with its environment variable(s). */
export interface ConfigLeaf {
  path: string;
  env: string;
  aliases: string[];
  number: boolean;
  /** A switch (mqtt.proxyProtocol): `true`/`false` (also 1/0, yes/no, on/off) in the environment. */
  boolean: boolean;
  /** A list (notify.channels): its environment variable holds JSON. */
  json: boolean;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = (s as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') && def.innerType) s = def.innerType;
    else return s;
  }
}

/** The leaves of a config schema, in schema order. */
export function leavesOf(schema: z.ZodType, prefix: string[] = []): ConfigLeaf[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => leavesOf(child, [...prefix, key]));
  }
  const path = prefix.join('.');
  return [
    {
      path,
      env: envName(path),
      aliases: Object.entries(ENV_ALIASES)
        .filter(([, p]) => p === path)
        .map(([name]) => name),
      number: inner instanceof z.ZodNumber,
      boolean: inner instanceof z.ZodBoolean,
      json: inner instanceof z.ZodArray,
    },
  ];
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Environment values are strings: numeric keys get numbers, switches booleans (anything else stays a string and is refused). */
export function envValue(leaf: ConfigLeaf, text: string): unknown {
  if (leaf.boolean) {
    const t = text.trim().toLowerCase();
    return TRUE.has(t) ? true : FALSE.has(t) ? false : text;
  }
  if (leaf.json) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text; // refused by the schema: "expected array"
    }
  }
  if (!leaf.number) return text;
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}
