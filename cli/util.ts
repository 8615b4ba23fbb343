import { Option, type Command } from 'commander';
import { ConfigError } from '../lib/config-errors.js';
import { createLogger, type Logger } from '../lib/log.js';

/** Parse a CLI integer option, naming the option in the error. */
export function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${value}"`);
    return n;
  };
}

export function numberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

export function rootLogger(cmd: Command, name: string, fallback?: string): Logger {
  const level = (cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? fallback;
  return createLogger({ name, level });
}

/** Run a long-lived service until SIGINT/SIGTERM, then stop it once. */
export function runUntilSignal(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Print a config error (every problem, with key paths) and exit 2; rethrow anything else. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

/** `--log-level`, on every command that runs something (env RB_LOG_LEVEL). */
export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level (env RB_LOG_LEVEL)')
    .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .env('RB_LOG_LEVEL');
}
