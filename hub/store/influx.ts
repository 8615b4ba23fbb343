import { FieldType, InfluxDB, type INanoDate, type IPoint, type IPoolOptions } from 'influx';
import type { Logger } from '../../lib/log.js';
import type { RbEvent } from '../../protocol/index.js';
import type { EventQuery, EventStore } from './types.js';

export interface InfluxStoreOptions {
  /** `http(s)://[user:pass@]host[:port][/database]`; the database defaults to `redbutler`. */
  url: string;
  log: Logger;
  /** Points per HTTP write; a batch this full is sent at once. */
  batchSize?: number | undefined;
  /** How long the first write of a batch waits for others to join it, ms. */
  flushMs?: number | undefined;
  /** An HTTP request without an answer after this long fails, ms. */
  requestTimeoutMs?: number | undefined;
}

const MEASUREMENT = 'events';
const DEFAULT_DATABASE = 'redbutler';
const NS_PER_MS = 1_000_000n;

/**
 * Point time in ns: `ts * 1e6 + seq % 1e6`. InfluxDB keys a point by (measurement, tag set, time)
 * and a second write with the same key replaces the first. Adding the gateway sequence number
 * keeps two events of one device in the same millisecond apart, while a re-delivered event (same
 * id, so same ts and seq) lands on its own key and replaces itself: idempotent by id without a
 * read before write. BigInt, because ts * 1e6 (~1.7e18) is far beyond 2^53 and a float would
 * round it; the influx package passes a numeric string through to the line protocol unchanged.
 */
function pointTime(e: RbEvent): string {
  return (BigInt(e.ts) * NS_PER_MS + BigInt(e.seq % 1_000_000)).toString();
}

/**
 * `data` as a JSON string field, with every `'` written as the JSON escape `\u0027` (JSON.parse
 * gives the same value back). The influx package's line-protocol escaper rewrites the first `\'`
 * of a string to `\\'` before escaping (grammar/escape.js, v5.12), which corrupts JSON such as
 * `"\\'"`; with no `'` in the text that rewrite never fires.
 */
function encodeData(data: unknown): string {
  return JSON.stringify(data).replace(/'/g, '\\u0027');
}

interface Row {
  time: INanoDate;
  id: string;
  seq: number;
  data: string;
  estate: string;
  gateway: string;
  device: string;
  type: string;
}

/** Filters in a fixed order, each a fixed InfluxQL fragment with a bound parameter (`params`). */
const FILTERS = [
  ['estate', '"estate" = $estate'],
  ['gateway', '"gateway" = $gateway'],
  ['device', '"device" = $device'],
  ['type', '"type" = $type'],
  ['from', 'time >= $from'],
  ['to', 'time < $to'],
] as const;

/** The pool's host backoff: short, because there is one host and callers retry on their own. */
class Backoff implements NonNullable<IPoolOptions['backoff']> {
  constructor(private readonly failures = 0) {}
  getDelay = (): number => Math.min(1_000, 100 * 2 ** this.failures);
  next = (): Backoff => new Backoff(this.failures + 1);
  reset = (): Backoff => new Backoff(0);
}

interface Batch {
  points: IPoint[];
  done: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers attach their handlers later; never report this promise as unhandled on its own.
  done.catch(() => undefined);
  return { points: [], done, resolve, reject };
}

/** Event store on InfluxDB 1.x: measurement `events`, one series per (estate, gateway, device, type). */
export function createInfluxStore(opts: InfluxStoreOptions): EventStore {
  const log = opts.log.child({ module: 'hub.store.influx' });
  const batchSize = opts.batchSize ?? 5000;
  const flushMs = opts.flushMs ?? 50;
  const parsed = new URL(opts.url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, '')) || DEFAULT_DATABASE;
  // Where we write, for errors and logs; credentials stay out of it.
  const target = `${parsed.protocol}//${parsed.host} db=${database}`;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`influx url must be http(s): ${target}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);

  const influx = new InfluxDB({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 8086,
    protocol: parsed.protocol === 'https:' ? 'https' : 'http',
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
    // No retries inside the client: a failed write is reported to its callers (ingest leaves the
    // event unacknowledged and the gateway sends it again), never silently delayed.
    pool: { maxRetries: 0, requestTimeout: opts.requestTimeoutMs ?? 10_000, backoff: new Backoff() },
    schema: [
      {
        measurement: MEASUREMENT,
        tags: ['estate', 'gateway', 'device', 'type'],
        fields: { id: FieldType.STRING, seq: FieldType.INTEGER, data: FieldType.STRING, received_at: FieldType.INTEGER },
      },
    ],
  });

  let started = false;
  let current: Batch | undefined;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  let lastNetworkError = '';

  function describe(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    // After a network failure the client parks its only host for a moment and answers "No host
    // available"; name the failure that parked it so the error says what is actually wrong.
    if (message === 'No host available' && lastNetworkError) return `unreachable (${lastNetworkError})`;
    if (err instanceof Error && 'code' in err && typeof err.code === 'string') lastNetworkError = message;
    return message;
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = current;
    current = undefined;
    if (!batch || batch.points.length === 0) return;
    // Through a promise so that a synchronous throw (a field the schema rejects) rejects the batch
    // instead of escaping from a timer callback and crashing the hub.
    const sent = Promise.resolve()
      .then(() => influx.writePoints(batch.points, { precision: 'n' }))
      .then(
        () => batch.resolve(),
        (err: unknown) => {
          const error = new Error(`InfluxDB write of ${batch.points.length} points to ${target} failed: ${describe(err)}`, {
            cause: err,
          });
          log.warn({ err: error, points: batch.points.length }, 'influx write failed');
          batch.reject(error);
        },
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }

  function toPoint(e: RbEvent, receivedAt: number): IPoint {
    return {
      measurement: MEASUREMENT,
      tags: { estate: e.estate, gateway: e.gateway, device: e.device, type: e.type },
      // received_at: on a re-delivery the replacing point carries the later arrival time.
      fields: { id: e.id, seq: e.seq, data: encodeData(e.data), received_at: receivedAt },
      timestamp: pointTime(e),
    };
  }

  return {
    kind: 'influxdb',

    async start() {
      if (started) return;
      try {
        const names = await influx.getDatabaseNames();
        if (!names.includes(database)) {
          await influx.createDatabase(database);
          log.info({ database }, 'created influx database');
        }
      } catch (err) {
        throw new Error(`cannot open the event database on InfluxDB at ${target}: ${describe(err)}`, { cause: err });
      }
      started = true;
      log.info({ target }, 'influx event store started');
    },

    async stop() {
      if (!started) return;
      started = false;
      flush();
      // Let writes already sent finish, so no caller is left waiting on a dropped promise.
      await Promise.allSettled([...inFlight]);
    },

    write(events) {
      if (!started) return Promise.reject(new Error('influx event store is not started'));
      if (events.length === 0) return Promise.resolve();
      const receivedAt = Date.now();
      // Every batch this call put a point in; a failed batch rejects each of its callers.
      const joined = new Set<Promise<void>>();
      for (const e of events) {
        current ??= newBatch();
        joined.add(current.done);
        current.points.push(toPoint(e, receivedAt));
        if (current.points.length >= batchSize) flush();
      }
      if (current && !timer) timer = setTimeout(flush, flushMs);
      return Promise.all(joined).then(() => undefined);
    },

    async query(q: EventQuery) {
      if (!started) throw new Error('influx event store is not started');
      if (!Number.isInteger(q.limit) || q.limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${q.limit}`);
      if (q.limit === 0) return [];
      // Sent as InfluxDB `params`, never spliced into the query text. Times as RFC 3339 strings:
      // exact at ms, where an integer ns bound would be a float beyond 2^53 in JSON.
      const placeholders: Record<string, string | number> = { limit: q.limit };
      const where: string[] = [];
      for (const [key, fragment] of FILTERS) {
        const value = q[key];
        if (value === undefined) continue;
        if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`${key} must be an integer ms time, got ${value}`);
        placeholders[key] = typeof value === 'number' ? new Date(value).toISOString() : value;
        where.push(fragment);
      }
      const text =
        `SELECT "id", "seq", "data", "estate", "gateway", "device", "type" FROM "${MEASUREMENT}"` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ' ORDER BY time DESC LIMIT $limit';
      let rows: Row[];
      try {
        // precision 'n': times come back as RFC 3339 strings with every ns digit (INanoDate); epoch
        // numbers would be parsed by JSON.parse into floats and lose the low digits.
        rows = await influx.query<Row>(text, { placeholders, precision: 'n' });
      } catch (err) {
        throw new Error(`InfluxDB query on ${target} failed: ${describe(err)}`, { cause: err });
      }
      const events = rows.map(
        (r) =>
          ({
            v: 1 as const,
            id: r.id,
            seq: r.seq,
            // BigInt division truncates: the ns remainder is seq % 1e6, always below 1 ms.
            ts: Number(BigInt(r.time.getNanoTime()) / NS_PER_MS),
            estate: r.estate,
            gateway: r.gateway,
            device: r.device,
            type: r.type,
            data: JSON.parse(r.data) as unknown,
          }) as RbEvent,
      );
      // Time order already is (ts, seq % 1e6); this settles ties between series (two gateways at
      // the same ns) and a seq wrap inside one ms, so the order matches the SQLite store exactly.
      return events.sort((a, b) => b.ts - a.ts || b.seq - a.seq);
    },
  };
}
