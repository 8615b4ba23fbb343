import Database from 'better-sqlite3';
import type { Logger } from '../../lib/log.js';
import type { RbEvent } from '../../protocol/index.js';
import { checkCountQuery, type CountQuery, type CountRow, type EventQuery, type EventStore } from './types.js';

export interface SqliteStoreOptions {
  /** Database file path, or ':memory:' (tests). */
  file: string;
  log: Logger;
}

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run. Append a new
 * entry to change the schema; never edit one that has shipped (databases in the field ran it).
 */
const MIGRATIONS: readonly string[] = [
  // 1: the events table. Indexes end in (ts, seq) so "newest first" is read straight off the index
  // instead of sorting every matching row; (ts, seq) alone serves unfiltered and gateway-only reads.
  `CREATE TABLE events (
     id          TEXT PRIMARY KEY,
     estate      TEXT NOT NULL,
     gateway     TEXT NOT NULL,
     device      TEXT NOT NULL,
     type        TEXT NOT NULL,
     ts          INTEGER NOT NULL,
     seq         INTEGER NOT NULL,
     data        TEXT NOT NULL,
     received_at INTEGER NOT NULL
   );
   CREATE INDEX events_estate_ts ON events (estate, ts, seq);
   CREATE INDEX events_estate_device_ts ON events (estate, device, ts, seq);
   CREATE INDEX events_type_ts ON events (type, ts, seq);
   CREATE INDEX events_ts ON events (ts, seq);`,
];

interface Row {
  id: string;
  estate: string;
  gateway: string;
  device: string;
  type: string;
  ts: number;
  seq: number;
  data: string;
}

/** Filter keys in a fixed order; each maps to one fixed SQL fragment with a named parameter. */
const FILTERS = [
  ['estate', 'estate = @estate'],
  ['gateway', 'gateway = @gateway'],
  ['device', 'device = @device'],
  ['type', 'type = @type'],
  ['from', 'ts >= @from'],
  ['to', 'ts < @to'],
] as const;

/**
 * Keyset pagination: strictly older than the cursor in (ts desc, seq desc[, id desc]) order. A row
 * value comparison, so SQLite seeks the (…, ts, seq) index instead of scanning.
 */
const BEFORE = {
  beforeTs: '(ts, seq) < (@beforeTs, @beforeSeq)',
  beforeId: '(ts, seq, id) < (@beforeTs, @beforeSeq, @beforeId)',
} as const;

type FilterKey = (typeof FILTERS)[number][0] | keyof typeof BEFORE;

/** Filters `counts` takes, each one fixed fragment; `from` and `to` are always present. */
const COUNT_FILTERS = [
  ['estate', 'estate = @estate'],
  ['device', 'device = @device'],
  ['type', 'type = @type'],
] as const;
type CountFilterKey = (typeof COUNT_FILTERS)[number][0];

function migrate(db: Database.Database, log: Logger): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `event database schema version ${current} is newer than this hub knows (${MIGRATIONS.length}); refusing to touch it`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version += 1) {
    // One transaction per step: a crash mid-migration leaves the previous version intact.
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`); // a pragma takes no bound parameters; this is an integer
    })();
    log.info({ version: version + 1 }, 'event store schema migrated');
  }
}

/** The embedded default event store: one SQLite file in the hub's data dir. */
export function createSqliteStore(opts: SqliteStoreOptions): EventStore {
  const log = opts.log.child({ module: 'hub.store.sqlite' });
  let db: Database.Database | undefined;
  let insertMany: ((events: readonly RbEvent[], receivedAt: number) => void) | undefined;
  // One prepared statement per combination of filters in use (at most 2^6 of them).
  const selects = new Map<string, Database.Statement<Record<string, string | number>, Row>>();
  const countSelects = new Map<string, Database.Statement<Record<string, string | number>, CountRow>>();

  function open(): Database.Database {
    if (!db) throw new Error('sqlite event store is not started');
    return db;
  }

  function select(keys: readonly FilterKey[]): Database.Statement<Record<string, string | number>, Row> {
    const cacheKey = keys.join(',');
    let stmt = selects.get(cacheKey);
    if (!stmt) {
      const where: string[] = FILTERS.filter(([key]) => keys.includes(key)).map(([, sql]) => sql);
      for (const [key, sql] of Object.entries(BEFORE)) if (keys.includes(key as FilterKey)) where.push(sql);
      stmt = open().prepare<Record<string, string | number>, Row>(
        `SELECT id, estate, gateway, device, type, ts, seq, data FROM events
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ts DESC, seq DESC, id DESC LIMIT @limit`,
      );
      selects.set(cacheKey, stmt);
    }
    return stmt;
  }

  function countSelect(keys: readonly CountFilterKey[]): Database.Statement<Record<string, string | number>, CountRow> {
    const cacheKey = keys.join(',');
    let stmt = countSelects.get(cacheKey);
    if (!stmt) {
      const where = [...COUNT_FILTERS.filter(([key]) => keys.includes(key)).map(([, sql]) => sql), 'ts >= @from', 'ts < @to'];
      // Integer bucketing aligned to the epoch; the double modulo floors negative times too, as
      // InfluxDB's GROUP BY time() does.
      stmt = open().prepare<Record<string, string | number>, CountRow>(
        `SELECT ts - ((ts % @interval) + @interval) % @interval AS start, type, count(*) AS count FROM events
         WHERE ${where.join(' AND ')}
         GROUP BY start, type ORDER BY start, type`,
      );
      countSelects.set(cacheKey, stmt);
    }
    return stmt;
  }

  return {
    kind: 'sqlite',

    async start() {
      if (db) return;
      const handle = new Database(opts.file);
      try {
        // WAL: readers (API, Grafana) never block the writer. synchronous=NORMAL in WAL mode syncs the
        // WAL only at checkpoints, not per commit: a committed transaction is in the OS page cache as
        // soon as COMMIT returns, so it survives a crash of the hub process (the case at-least-once
        // delivery must cover); only a power loss or kernel crash can lose the last commits, and never
        // corrupts the file (https://www.sqlite.org/pragma.html#pragma_synchronous).
        handle.pragma('journal_mode = WAL');
        handle.pragma('synchronous = NORMAL');
        handle.pragma('busy_timeout = 5000');
        migrate(handle, log);
        const stmt = handle.prepare(
          `INSERT OR IGNORE INTO events (id, estate, gateway, device, type, ts, seq, data, received_at)
           VALUES (@id, @estate, @gateway, @device, @type, @ts, @seq, @data, @receivedAt)`,
        );
        // INSERT OR IGNORE on the primary key: a re-delivered event (same id) stores nothing new and
        // keeps the first received_at.
        insertMany = handle.transaction((events: readonly RbEvent[], receivedAt: number) => {
          for (const e of events) {
            stmt.run({
              id: e.id,
              estate: e.estate,
              gateway: e.gateway,
              device: e.device,
              type: e.type,
              ts: e.ts,
              seq: e.seq,
              data: JSON.stringify(e.data),
              receivedAt,
            });
          }
        });
      } catch (err) {
        handle.close();
        throw err;
      }
      db = handle;
      log.info({ file: opts.file }, 'sqlite event store started');
    },

    async stop() {
      if (!db) return;
      selects.clear();
      countSelects.clear();
      insertMany = undefined;
      db.close();
      db = undefined;
    },

    async write(events) {
      if (!insertMany) throw new Error('sqlite event store is not started');
      if (events.length === 0) return;
      insertMany(events, Date.now());
    },

    async query(q: EventQuery) {
      if (!Number.isInteger(q.limit) || q.limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${q.limit}`);
      const params: Record<string, string | number> = { limit: q.limit };
      const keys: FilterKey[] = [];
      for (const [key] of FILTERS) {
        const value = q[key];
        if (value === undefined) continue;
        if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`${key} must be an integer ms time, got ${value}`);
        params[key] = value;
        keys.push(key);
      }
      if (q.before) {
        const { ts, seq, id } = q.before;
        if (!Number.isSafeInteger(ts) || !Number.isSafeInteger(seq)) throw new RangeError(`before must hold integer ts and seq, got ${ts}, ${seq}`);
        params.beforeTs = ts;
        params.beforeSeq = seq;
        if (id === undefined) keys.push('beforeTs');
        else {
          params.beforeId = id;
          keys.push('beforeId');
        }
      }
      return select(keys)
        .all(params)
        .map((r) => ({
          v: 1 as const,
          id: r.id,
          seq: r.seq,
          ts: r.ts,
          estate: r.estate,
          gateway: r.gateway,
          device: r.device,
          type: r.type,
          data: JSON.parse(r.data) as unknown,
        }) as RbEvent);
    },

    async counts(q: CountQuery) {
      const interval = checkCountQuery(q);
      const params: Record<string, string | number> = { interval, from: q.from, to: q.to };
      const keys: CountFilterKey[] = [];
      for (const [key] of COUNT_FILTERS) {
        const value = q[key];
        if (value === undefined) continue;
        params[key] = value;
        keys.push(key);
      }
      return countSelect(keys).all(params);
    },
  };
}
