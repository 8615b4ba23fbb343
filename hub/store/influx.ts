import type { Logger } from '../../lib/log.js';
import { InfluxHttp, InfluxUnavailableError } from './influx-http.js';
import { encodeEvent, encodePoint, type Point } from './influx-line.js';
import { ensureFactsSchema } from './facts.js';
import { checkRetention, DATABASE_NAME, DEFAULT_RETENTION, ensureSchema, hourlySelect, RAW_RP, type Retention } from './influx-schema.js';
import { InfluxSpool, type DeadLetter } from './influx-spool.js';
import { InfluxWriter, type WriterStats } from './influx-writer.js';
import { countEvents, queryEvents, type RunQuery } from './influx-query.js';
import type { CountQuery, EventQuery, EventStore } from './types.js';

export { InfluxUnavailableError } from './influx-http.js';
export type { WriterStats as InfluxStoreStats } from './influx-writer.js';

export interface InfluxStoreOptions {
  /** `http(s)://[user:pass@]host[:port][/database]`; the database defaults to `redbutler`. */
  url: string;
  log: Logger;
  /** SQLite file for points waiting for InfluxDB and for dead letters (`{dataDir}/influx-spool.db`). */
  spoolFile: string;
  /** Points per HTTP write (default 5,000). */
  batchSize?: number | undefined;
  /** Longest a point waits for its batch to fill while a write is in flight, ms (default 100). */
  flushMs?: number | undefined;
  /** HTTP writes open at once (default 4). */
  maxInFlight?: number | undefined;
  /** An HTTP request without an answer after this long fails, ms (default 10,000). */
  requestTimeoutMs?: number | undefined;
  /** A write still unanswered after this long is spooled and its callers released, ms (default 2,000). */
  spoolAfterMs?: number | undefined;
  /** Replay backoff bounds, ms (defaults 100 and 5,000). */
  backoffMinMs?: number | undefined;
  backoffMaxMs?: number | undefined;
  /** Largest spool, points (default 10 million); beyond it writes fail and gateways keep their events. */
  maxSpoolPoints?: number | undefined;
  retention?: Partial<Retention> | undefined;
  /**
   * Every batch fills for `flushMs` (fewer, larger writes); the hub's, whose writes come from the
   * event log's InfluxDB consumer (hub/store/influx-sink.ts), not from a caller waiting to acknowledge.
   */
  linger?: boolean | undefined;
}

/** The InfluxDB store adds what an operator (and /metrics) needs to see about its writer. */
export interface InfluxEventStore extends EventStore {
  readonly kind: 'influxdb';
  stats(): WriterStats;
  /** The newest dead letters: event id, line, InfluxDB's reason, when. */
  deadLetters(limit?: number): DeadLetter[];
  /** Resolves once every point submitted so far is written or spooled (at most `influx` spoolAfterMs). */
  settled(): Promise<void>;
  /** Resolves true once the spool is empty and nothing is in flight, false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Recompute the hourly counts for [from, to) ms (after a backlog older than the CQ's window). */
  rollup(from: number, to: number): Promise<void>;
  /**
   * Generic points (facts, hub/store/facts.ts) through the same batches, spool and dead letters as
   * events; resolves once durable. An unencodable point is dead-lettered, never sent.
   */
  writePoints(points: readonly Point[]): Promise<void>;
  /**
   * Called with the event times (ms) of each batch InfluxDB acknowledged, and when (ms): the hub's
   * `rb_influx_write_lag_seconds` (hub/store/metrics.ts). One listener; set before start().
   */
  onWritten(listener: (eventTimes: readonly number[], at: number) => void): void;
  /** Create the facts' hourly continuous queries (hub/store/facts.ts); the hub calls it after start. */
  ensureFactsSchema(): Promise<void>;
}

const DEFAULT_DATABASE = 'redbutler';

/** Event store on InfluxDB 1.x: measurement `events` in RP `raw`, one series per (estate, gateway, device, type). */
export function createInfluxStore(opts: InfluxStoreOptions): InfluxEventStore {
  const log = opts.log.child({ module: 'hub.store.influx' });
  const parsed = new URL(opts.url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, '')) || DEFAULT_DATABASE;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`influx url must be http(s): ${parsed.protocol}//${parsed.host}`);
  if (!DATABASE_NAME.test(database)) throw new Error(`influx database name must match ${DATABASE_NAME}, got ${JSON.stringify(database)}`);
  const batchSize = opts.batchSize ?? 5000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const retention = { ...DEFAULT_RETENTION, ...opts.retention };
  checkRetention(retention);
  const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  const http = new InfluxHttp({ base: parsed, database, requestTimeoutMs });
  let spool: InfluxSpool | undefined;
  let writer: InfluxWriter | undefined;
  let written: ((eventTimes: readonly number[], at: number) => void) | undefined;

  function running(): InfluxWriter {
    if (!writer) throw new Error('influx event store is not started');
    return writer;
  }

  /** One read; when InfluxDB is down, says how many events wait in the spool. */
  const run: RunQuery = async (text, params) => {
    const w = running();
    await w.settled(); // read what was submitted before this query
    try {
      return await http.query(text, params);
    } catch (err) {
      const depth = w.stats().spoolDepth;
      if (err instanceof InfluxUnavailableError && depth > 0) {
        throw new InfluxUnavailableError(`${err.message}; ${depth} events are spooled and will be written when it is back`, { cause: err });
      }
      throw err;
    }
  };

  return {
    kind: 'influxdb',

    async start() {
      if (writer) return;
      try {
        await ensureSchema(http, database, retention);
      } catch (err) {
        throw new Error(`cannot open the event database on InfluxDB at ${http.target}: ${(err as Error).message}`, { cause: err });
      }
      spool = new InfluxSpool(opts.spoolFile, opts.maxSpoolPoints);
      writer = new InfluxWriter({
        http,
        spool,
        log,
        rp: RAW_RP,
        batchSize,
        flushMs: opts.flushMs ?? 100,
        maxInFlight: opts.maxInFlight ?? 4,
        spoolAfterMs: opts.spoolAfterMs ?? 2_000,
        backoffMinMs: opts.backoffMinMs ?? 100,
        backoffMaxMs: opts.backoffMaxMs ?? 5_000,
        linger: opts.linger,
        onWritten: (points, at) => {
          if (!written) return;
          const times: number[] = [];
          for (const p of points) if (p.ts !== undefined) times.push(p.ts);
          if (times.length > 0) written(times, at);
        },
      });
      log.info({ target: http.target, spool: opts.spoolFile, spoolDepth: spool.depth(), retention }, 'influx event store started');
    },

    async stop() {
      if (!writer) return;
      const w = writer;
      writer = undefined;
      await w.stop();
      log.info({ spoolDepth: spool?.depth() }, 'influx event store stopped');
      spool?.close();
      spool = undefined;
    },

    write(events) {
      let w: InfluxWriter;
      try {
        w = running();
      } catch (err) {
        return Promise.reject(err as Error);
      }
      const receivedAt = Date.now();
      const points = [];
      for (const e of events) {
        const encoded = encodeEvent(e, receivedAt);
        // A point no retry can fix: kept with its reason, acknowledged, never sent.
        if (encoded.ok) points.push({ id: String(e.id), line: encoded.line, ts: e.ts });
        else w.deadLetter({ id: String(e.id), line: safeJson(e) }, encoded.reason);
      }
      return w.submit(points);
    },

    async ensureFactsSchema() {
      running();
      await ensureFactsSchema(http, database);
    },

    writePoints(points) {
      let w: InfluxWriter;
      try {
        w = running();
      } catch (err) {
        return Promise.reject(err as Error);
      }
      const lines = [];
      for (const p of points) {
        const id = `${p.measurement}@${p.ts}`;
        const encoded = encodePoint(p);
        if (encoded.ok) lines.push({ id, line: encoded.line });
        else w.deadLetter({ id, line: safeJson(p) }, encoded.reason);
      }
      return w.submit(lines);
    },

    async query(q: EventQuery) {
      running();
      return queryEvents(run, q);
    },

    async counts(q: CountQuery) {
      running();
      return countEvents(run, q);
    },

    stats: () => running().stats(),
    deadLetters: (limit = 100) => {
      if (!spool) throw new Error('influx event store is not started');
      return spool.listDeadLetters(limit);
    },
    drained: (timeoutMs) => running().drained(timeoutMs),
    settled: () => (writer ? writer.settled() : Promise.resolve()),
    onWritten(listener) {
      written = listener;
    },
    async rollup(from, to) {
      running();
      await http.query(hourlySelect(database, 'time >= $from AND time < $to'), {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
      });
    },
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
