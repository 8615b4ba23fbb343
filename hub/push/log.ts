import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** One pushed message as logged: the envelope every Socket.IO push carries (docs/alerts.md). */
export interface PushEnvelope<T = unknown> {
  scope: string;
  seq: number;
  at: number;
  event: string;
  data: T;
}

export interface PushLogOptions {
  /** Keep messages this long (ms); default 7 days. */
  retentionMs?: number;
  /** Keep at most this many rows in all (the oldest go first); default 2,000,000. */
  maxRows?: number;
  /** Rows buffered before a flush is forced; also the sequence gap left after a restart. */
  bufferRows?: number;
}

export interface PushLog {
  /**
   * Give the message the next sequence of its scope and log it. The row is written with the
   * others of this tick in one transaction (see flush); the sequence is final at once.
   */
  append<T>(scope: string, event: string, data: T, at?: number): PushEnvelope<T>;
  /** Write what is buffered (done before every read, at the end of each tick, and on close). */
  flush(): void;
  /**
   * Messages of `scope` with a sequence above `after`, oldest first, at most `limit`. Returns
   * `null` when more than `limit` were missed (the client must reload over REST).
   */
  after(scope: string, after: number, limit: number): PushEnvelope[] | null;
  /** The last sequence given in `scope` (0 when none). */
  last(scope: string): number;
  /** Drop rows past retention or the row cap; returns how many went. */
  prune(now?: number): number;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS push_log (
  scope TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (scope, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_log_at ON push_log(at);
`;

/**
 * The replay log of live push, `{dataDir}/push.db`. Each scope (`estate:E`, `user:U`) has its own
 * sequence. Appends are buffered for one tick and written in a single transaction, so logging every
 * event costs one row insert, not one commit.
 *
 * Restarts: a hub killed before a flush loses at most `bufferRows` rows, whose sequences a client may
 * already have seen. Opening the log therefore starts every scope `bufferRows` above the last
 * sequence on disk, so a new message can never reuse a sequence a client already holds.
 */
export function openPushLog(dataDir: string, opts: PushLogOptions = {}): PushLog {
  const retentionMs = opts.retentionMs ?? 7 * 24 * 3600_000;
  const maxRows = opts.maxRows ?? 2_000_000;
  const bufferRows = opts.bufferRows ?? 1024;
  mkdirSync(dataDir, { recursive: true });
  const db: Db = new Database(join(dataDir, 'push.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  // Rows go in with multi-row INSERTs (chunks of 64, 16, 4, 1 rows, each statement prepared once):
  // one native call per chunk instead of one per row; logging runs for every pushed event.
  const inserts = new Map<number, Statement>();
  const insertOf = (rows: number): Statement => {
    let stmt = inserts.get(rows);
    if (!stmt) {
      stmt = db.prepare(`INSERT OR REPLACE INTO push_log (scope, seq, at, event, data) VALUES ${new Array<string>(rows).fill('(?, ?, ?, ?, ?)').join(', ')}`);
      inserts.set(rows, stmt);
    }
    return stmt;
  };
  const maxSeq = db.prepare('SELECT max(seq) AS m FROM push_log WHERE scope = ?').pluck();
  const select = db.prepare('SELECT scope, seq, at, event, data FROM push_log WHERE scope = ? AND seq > ? ORDER BY seq LIMIT ?');
  const countRows = db.prepare('SELECT count(*) FROM push_log').pluck();
  const deleteBefore = db.prepare('DELETE FROM push_log WHERE at < ?');
  const nthAt = db.prepare('SELECT at FROM push_log ORDER BY at DESC LIMIT 1 OFFSET ?').pluck();

  const seqs = new Map<string, number>();
  /** Buffered rows, flat: scope, seq, at, event, data (JSON) for each. */
  let buffer: Array<string | number> = [];
  let scheduled = false;
  const COLS = 5;
  const CHUNKS = [64, 16, 4, 1];
  const writeAll = db.transaction((values: Array<string | number>) => {
    const rows = values.length / COLS;
    let at = 0;
    for (const size of CHUNKS) {
      if (rows - at < size) continue;
      const stmt = insertOf(size);
      for (; rows - at >= size; at += size) stmt.run(values.slice(at * COLS, (at + size) * COLS));
    }
  });

  function nextSeq(scope: string): number {
    let s = seqs.get(scope);
    if (s === undefined) {
      const onDisk = maxSeq.get(scope) as number | null;
      s = onDisk === null ? 0 : onDisk + bufferRows;
    }
    s += 1;
    seqs.set(scope, s);
    return s;
  }

  const log: PushLog = {
    append(scope, event, data, at = Date.now()) {
      const seq = nextSeq(scope);
      buffer.push(scope, seq, at, event, JSON.stringify(data));
      if (buffer.length >= bufferRows * COLS) log.flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(() => log.flush());
      }
      return { scope, seq, at, event, data };
    },
    flush() {
      scheduled = false;
      if (buffer.length === 0 || !db.open) return;
      const rows = buffer;
      buffer = [];
      writeAll(rows);
    },
    after(scope, after, limit) {
      log.flush();
      const rows = select.all(scope, after, limit + 1) as Array<{ scope: string; seq: number; at: number; event: string; data: string }>;
      if (rows.length > limit) return null;
      return rows.map((r) => ({ scope: r.scope, seq: r.seq, at: r.at, event: r.event, data: JSON.parse(r.data) as unknown }));
    },
    last(scope) {
      const s = seqs.get(scope);
      if (s !== undefined) return s;
      return (maxSeq.get(scope) as number | null) ?? 0;
    },
    prune(now = Date.now()) {
      log.flush();
      let removed = deleteBefore.run(now - retentionMs).changes;
      const total = countRows.get() as number;
      if (total > maxRows) {
        const cutoff = nthAt.get(maxRows - 1) as number | undefined;
        if (cutoff !== undefined) removed += deleteBefore.run(cutoff).changes;
      }
      return removed;
    },
    close() {
      if (!db.open) return;
      log.flush();
      db.close();
    },
  };
  return log;
}
