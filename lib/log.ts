import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line. */
const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'salt',
  '*.salt',
  'headers.authorization',
  '*.headers.authorization',
];

export interface LogOptions {
  level?: string | undefined;
  /** Service name, e.g. "hub" or "gateway". */
  name: string;
  /** Write to this destination instead of stdout (tests pass a stream). */
  destination?: NodeJS.WritableStream | undefined;
}

/** The root logger of a process. Modules take a child: `log.child({ module: 'hub.ingest' })`. */
export function createLogger(opts: LogOptions): Logger {
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level ?? process.env.RB_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything, for unit tests of one module. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
