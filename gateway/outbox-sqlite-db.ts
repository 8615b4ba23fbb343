import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../lib/log.js';

/**
 * The SQL side of the SQLite outbox (gateway/outbox-sqlite.ts): schema, pragmas and one prepared
 * statement per operation. No policy lives here: caps, eviction order and disk-full handling are
 * decided by the caller, which also keeps the running totals.
 */

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run. Append a new
 * entry to change the schema; never edit one that has shipped (gateways in the field ran it).
 */
const MIGRATIONS: readonly string[] = [
  // 1: `seq` is the rowid, so ack is a primary-key delete and max(seq) is O(1). The lane index is
  // (alarm, seq) as the replay order needs, plus `bytes` as a trailing column: that makes it covering
  // for the totals scan at start (count/sum over a narrow index instead of every body) and for the
  // eviction query, and does not change the (alarm, seq) order it serves.
  `CREATE TABLE events (
     seq         INTEGER PRIMARY KEY,
     id          TEXT NOT NULL UNIQUE,
     device      TEXT NOT NULL,
     alarm       INTEGER NOT NULL,
     bytes       INTEGER NOT NULL,
     appended_at INTEGER NOT NULL,
     body        TEXT NOT NULL
   );
   CREATE INDEX events_lane ON events (alarm, seq, bytes);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER);
   INSERT INTO meta (key, value) VALUES ('seq_reserved', 0), ('dropped_total', 0);`,
];

export type MetaKey = 'seq_reserved' | 'dropped_total';

export interface InsertRow {
  seq: number;
  id: string;
  device: string;
  alarm: 0 | 1;
  bytes: number;
  appendedAt: number;
  body: string;
}

export interface Totals {
  rows: number;
  bytes: number;
  alarms: number;
  maxSeq: number;
}

export interface OutboxDbOptions {
  file: string;
  synchronous: 'normal' | 'full';
  maxPageCount?: number | undefined;
}

/** The opened database with its statements. Every method is synchronous (better-sqlite3). */
export interface OutboxDb {
  insert(row: InsertRow): void;
  /** Delete the `n` oldest routine rows; returns [seq, bytes] of each. */
  evictOldestRoutine(n: number): Array<[number, number]>;
  deleteSeq(seq: number): void;
  /** Delete every row with from <= seq <= to (a run of acknowledged events). */
  deleteRange(from: number, to: number): void;
  lookup(seq: number): { alarm: number; bytes: number } | undefined;
  hasId(id: string): boolean;
  /** [seq, device, body, bytes] of the rows of one lane with seq > after, by seq. */
  readLane(alarm: 0 | 1, after: number, limit: number): Array<[number, string, string, number]>;
  /** appended_at of the lowest-seq row of one lane (an index seek, not a scan). */
  firstAppendedAt(alarm: 0 | 1): number | undefined;
  totals(): Totals;
  getMeta(key: MetaKey): number;
  setMeta(key: MetaKey, value: number): void;
  /** Run `fn` in one transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK if it throws). */
  tx<T>(fn: () => T): T;
  close(): void;
}

/** The error code better-sqlite3 puts on a SqliteError (e.g. 'SQLITE_FULL'), if any. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function migrate(db: Database.Database, log: Logger): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`outbox schema version ${current} is newer than this gateway knows (${MIGRATIONS.length}); refusing to touch it`);
  }
  for (let version = current; version < MIGRATIONS.length; version += 1) {
    // One transaction per step: a crash mid-migration leaves the previous version intact.
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`); // a pragma takes no bound parameters; this is an integer
    })();
    log.info({ version: version + 1 }, 'outbox schema migrated');
  }
}

export function openOutboxDb(opts: OutboxDbOptions, log: Logger): OutboxDb {
  if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
  const db = new Database(opts.file);
  try {
    // WAL: a commit appends to the -wal file instead of rewriting pages, and readers never block it.
    // synchronous=NORMAL in WAL mode fsyncs only at checkpoints, not per commit: a committed append is
    // in the OS page cache when COMMIT returns, so it survives the gateway process being killed
    // (kill -9, OOM, crash), which is what at-least-once needs day to day; a power cut or kernel panic
    // can lose the last commits (never corrupt the file). FULL also fsyncs the WAL on every commit and
    // survives power loss, at the price of one fsync per transaction - which is why appends of one
    // event-loop turn share a transaction (https://www.sqlite.org/pragma.html#pragma_synchronous).
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // After a burst (an outage backlog) the WAL can grow large; truncate it back at checkpoints so a
    // gateway on a small SD card gets the space back.
    db.pragma('journal_size_limit = 33554432');
    migrate(db, log);
    if (opts.maxPageCount !== undefined) {
      // Test hook: a real SQLITE_FULL without filling a disk. Not persisted, so set on every open.
      db.pragma(`max_page_count = ${Math.trunc(opts.maxPageCount)}`);
    }
  } catch (err) {
    db.close();
    throw err;
  }

  const insert = db.prepare<[number, string, string, number, number, number, string]>(
    'INSERT INTO events (seq, id, device, alarm, bytes, appended_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  // SELECT then DELETE by primary key: in isolation ~5x faster (65k vs 13k evict+insert/s here) than
  // one DELETE ... WHERE seq IN (SELECT ...) RETURNING, which materialises the subquery on every call;
  // at a cap this runs once per append. The SELECT reads only the covering lane index.
  const oldest = db
    .prepare<[number], [number, number]>('SELECT seq, bytes FROM events WHERE alarm = 0 ORDER BY seq LIMIT ?')
    .raw();
  const del = db.prepare<[number]>('DELETE FROM events WHERE seq = ?');
  const lookup = db.prepare<[number], { alarm: number; bytes: number }>('SELECT alarm, bytes FROM events WHERE seq = ?');
  const delRange = db.prepare('DELETE FROM events WHERE seq BETWEEN ? AND ?');
  const hasId = db.prepare<[string], number>('SELECT 1 FROM events WHERE id = ?').pluck();
  // raw(): arrays instead of objects, the cheapest shape better-sqlite3 returns.
  const lane = db
    .prepare<[number, number, number], [number, string, string, number]>('SELECT seq, device, body, bytes FROM events WHERE alarm = ? AND seq > ? ORDER BY seq LIMIT ?')
    .raw();
  const first = db
    .prepare<[number], number>('SELECT appended_at FROM events WHERE alarm = ? ORDER BY seq LIMIT 1')
    .pluck();
  const totals = db.prepare<[], Totals>(
    `SELECT count(*) AS rows, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(alarm), 0) AS alarms,
            coalesce((SELECT max(seq) FROM events), 0) AS maxSeq
       FROM events INDEXED BY events_lane`,
  );
  const getMeta = db.prepare<[string], number>('SELECT value FROM meta WHERE key = ?').pluck();
  const setMeta = db.prepare<[number, string]>('UPDATE meta SET value = ? WHERE key = ?');
  const runTx = db.transaction((fn: () => unknown) => fn());

  return {
    insert: (r) => void insert.run(r.seq, r.id, r.device, r.alarm, r.bytes, r.appendedAt, r.body),
    evictOldestRoutine: (n) => {
      const victims = oldest.all(n);
      for (const [seq] of victims) del.run(seq);
      return victims;
    },
    deleteSeq: (seq) => void del.run(seq),
    deleteRange: (from, to) => void delRange.run(from, to),
    lookup: (seq) => lookup.get(seq),
    hasId: (id) => hasId.get(id) !== undefined,
    readLane: (alarm, after, limit) => lane.all(alarm, after, limit),
    firstAppendedAt: (alarm) => first.get(alarm),
    totals: () => totals.get() as Totals,
    getMeta: (key) => getMeta.get(key) ?? 0,
    setMeta: (key, value) => void setMeta.run(value, key),
    tx: <T>(fn: () => T) => runTx.immediate(fn) as T,
    close: () => db.close(),
  };
}
