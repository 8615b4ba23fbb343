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
