import type { Logger } from 'pino';
import type { RbEvent } from '../../protocol/index.js';
import type { LogFeed } from '../eventlog/index.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { InfluxEventStore } from './influx.js';

/** The event-log consumer that writes events to InfluxDB: `influx`, its cursor in `log_cursors`. */
export const INFLUX_CONSUMER = 'influx';

export interface InfluxSinkOptions {
  store: InfluxEventStore;
  feed: LogFeed;
  db: HubDatabase;
  log: Logger;
  /**
   * Events delivered and not yet durable in InfluxDB or its spool past which ingest refuses new
   * events (the gateways keep them) instead of holding ever more in memory. Default 200,000.
   */
  maxBacklog?: number;
  /** Wait before writing a group again after its write failed (spooling failed too), ms (default 1,000). */
  retryMs?: number;
  /** Longest flush() waits for what was delivered to be written or spooled, ms (default 10,000). */
  flushTimeoutMs?: number;
}

export interface InfluxSink {
  /** Why ingest should not accept events now (the InfluxDB side cannot take them), or undefined. */
  refusing(): string | undefined;
  /** Write what was delivered and commit the cursor past it (a hand-over, the hub's stop). */
  flush(): Promise<void>;
  /** Stop retrying; what is not durable is delivered again from the cursor at the next start. */
  stop(): Promise<void>;
  stats(): { backlog: number; cursorCommits: number; cursorFailures: number; writeFailures: number };
}

/** The events of one committed batch of the log, as delivered, and where they are. */
interface Group {
  events: RbEvent[];
  sources: number[];
  done: boolean;
}

/**
 * InfluxDB as a consumer of the event log (docs/storage.md, "InfluxDB"). Ingest acknowledges an
 * event once the log has it (one commit); this consumer is handed each committed batch in memory,
 * gives it to the InfluxDB writer (batched with others, up to `influx.batchSize` points or
 * `influx.flushMs`), and once the writer has it durable — written to InfluxDB, or in the spool while
 * InfluxDB is away — commits its cursor past it, in delivery order. A hub killed before that commit
 * delivers the events again from the cursor at its next start; InfluxDB keys a point by series and
 * time, so writing one again stores nothing twice. There is no second journal: the log is it.
 */
export function createInfluxSink(opts: InfluxSinkOptions): InfluxSink {
  const { store, feed, db, log } = opts;
  const maxBacklog = opts.maxBacklog ?? 200_000;
  const retryMs = opts.retryMs ?? 1_000;
  const flushTimeoutMs = opts.flushTimeoutMs ?? 10_000;
  const groups: Group[] = [];
  let current: Group | undefined;
  let backlog = 0;
  let committing: Promise<void> = Promise.resolve();
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const s = { cursorCommits: 0, cursorFailures: 0, writeFailures: 0 };

  function write(g: Group): void {
    store.write(g.events).then(
      () => {
        g.done = true;
        void commit();
      },
      (err: unknown) => {
        // Neither InfluxDB nor the spool took them (the spool full or its disk failing): keep them
        // and try again; the cursor waits here, so nothing after them is committed either.
        s.writeFailures += 1;
        log.error({ err, events: g.events.length }, 'events not written to InfluxDB nor spooled; retrying');
        if (stopped) return;
        const t = setTimeout(() => {
          timers.delete(t);
          write(g);
        }, retryMs);
        timers.add(t);
      },
    );
  }

  /** Commit the cursor past every group done in delivery order (one commit at a time). */
  function commit(): Promise<void> {
    committing = committing.then(async () => {
      const sources: number[] = [];
      let events = 0;
      while (groups.length > 0 && groups[0]!.done) {
        const g = groups.shift()!;
        for (const p of g.sources) sources.push(p);
        events += g.events.length;
      }
      if (sources.length === 0) return;
      backlog -= events;
      try {
        await db.transaction((trx) => feed.commitSinkCursor(trx, INFLUX_CONSUMER, sources));
        s.cursorCommits += 1;
        feed.sinkCommitted(INFLUX_CONSUMER, sources);
      } catch (err) {
        // The events are durable on the InfluxDB side; only the cursor is behind: a later commit
        // moves it past them, and until then a restart writes them again (no duplicate).
        s.cursorFailures += 1;
        log.warn({ err }, 'influx consumer cursor not committed');
        feed.sinkFailed(INFLUX_CONSUMER, sources);
      }
    });
    return committing;
  }

  function close(): void {
    const g = current;
    current = undefined;
    if (g) write(g);
  }

  feed.consumer(INFLUX_CONSUMER, { cursorInSink: true }).on('event', (event: RbEvent, pos?: number) => {
    if (pos === undefined) return; // a consumer's listeners always get the position
    if (!current) {
      current = { events: [], sources: [], done: false };
      groups.push(current);
      // The log delivers a committed batch in one turn: it becomes one write.
      queueMicrotask(close);
    }
    current.events.push(event);
    current.sources.push(pos);
    backlog += 1;
  });

  return {
    refusing() {
      if (backlog >= maxBacklog) return `${backlog} events wait for InfluxDB and its spool (influx.maxBacklog ${maxBacklog})`;
      return undefined;
    },
    async flush() {
      close();
      // Written or spooled within influx spoolAfterMs; a group whose spooling failed is retried
      // until the deadline, and then left to the next start (its cursor was not committed).
      const deadline = Date.now() + flushTimeoutMs;
      while (groups.some((g) => !g.done) && !stopped && Date.now() < deadline) {
        await store.settled();
        if (groups.some((g) => !g.done)) await new Promise((r) => setTimeout(r, 20));
      }
      await commit();
    },
    async stop() {
      await this.flush();
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    stats: () => ({ backlog, ...s }),
  };
}
