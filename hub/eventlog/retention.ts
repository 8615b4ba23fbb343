import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { EventLog } from './log.js';
import { startPeriodic } from '../../lib/periodic.js';

export interface LogRetentionRunner {
  /** Prune now (also run at start and every `everyMs`). */
  run(): Promise<void>;
  /** No more runs; resolves once a run in progress is done (the database may then close). */
  stop(): Promise<void>;
}

/**
 * Applies the event log's retention (hub/eventlog/log.ts) at start and then every `everyMs`
 * (default 5 min): entries past the kept count or age, up to the slowest consumer's cursor; over
 * the hard cap, the oldest regardless (counted in `rb_event_log_forced_deletes_total`).
 */
export function startLogRetention(opts: { log: EventLog; registry: Registry; logger: Logger; everyMs?: number }): LogRetentionRunner {
  const deleted = new Counter({ name: 'rb_event_log_pruned_total', help: 'Event-log entries deleted by retention', registers: [opts.registry] });
  const forced = new Counter({
    name: 'rb_event_log_forced_deletes_total',
    help: 'Event-log entries deleted over the hard cap before every consumer had read them',
    registers: [opts.registry],
  });
  const prune = (): Promise<void> =>
    opts.log
      .prune()
      .then((r) => {
        deleted.inc(r.deleted);
        forced.inc(r.forced);
        if (r.deleted > 0) opts.logger.debug(r, 'event log pruned');
      })
      .catch((err: unknown) => opts.logger.warn({ err }, 'event log prune failed'));
  return startPeriodic(prune, opts.everyMs ?? 300_000);
}
