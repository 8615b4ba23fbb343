import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

/** One configuration problem, with the dotted key path it is about (`devices[1].driver`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Thrown by config loaders; carries every problem found, not just the first. */
export class ConfigError extends Error {
  readonly code = 'RB_ERR_CONFIG';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${source}: ${problems.length} configuration error(s)\n${formatProblems(problems)}`);
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n');
}

export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): ConfigProblem[] {
  return error.issues.map((issue) => ({
    path: keyPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/** Freeze a validated config so no module can change it after start. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * A config file as a plain object: read, parsed as YAML (at most 100 aliases, against alias bombs),
 * and required to be a mapping. Every failure is a ConfigError naming the file.
 */
export function readYamlMapping(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ConfigError(file, doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}` })));
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(file, [{ path: '', message: 'the file must hold a YAML mapping' }]);
  return raw as Record<string, unknown>;
}
