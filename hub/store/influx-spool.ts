import type Database from 'better-sqlite3';
import { openLocalSqlite } from '../platform/db/local-file.js';

/** A point ready to send: its event id (for dead letters and logs) and its line. */
export interface SpoolPoint {
  id: string;
  line: string;
  /** The event's time, ms (events only; not kept in the spool): its write lag is measured from it. */
  ts?: number;
}

export interface SpooledRow extends SpoolPoint {
  seq: number;
}

export interface DeadLetter {
  id: string;
  line: string;
  reason: string;
  at: number;
}

/**
 * The InfluxDB writer's local disk: points waiting for InfluxDB (`spool`, replayed in `seq` order),
 * points it will never take (`dead_letters`, with the reason). SQLite in WAL mode with
 * synchronous=NORMAL: a committed append survives a crash of the hub process, like the hub
 * database, so "spooled" is as durable as "stored" is without InfluxDB.
 *
 * Hubs up to 0.1.0 had a write-ahead `journal` here (one row per ingest batch, its ids and lines
 * joined with newlines) and acknowledged events once journaled. The event log is that journal now
 * (hub/store/influx-sink.ts); rows an older release left are moved to the spool at start.
 */
export class InfluxSpool {
  private readonly db: Database.Database;
  private readonly insert: (points: readonly SpoolPoint[]) => void;
  private readonly insertDead: Database.Statement<[string, string, string, number]>;
  private count: number;
  private deadCount: number;

  constructor(
    readonly file: string,
    /** Refuse appends beyond this many points (the caller then reports the write as failed). */
    private readonly maxPoints = 10_000_000,
  ) {
    const db = openLocalSqlite(file);
    try {
      db.exec(`
        CREATE TABLE IF NOT EXISTS spool (
          seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, line TEXT NOT NULL, spooled_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS dead_letters (
          n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, line TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS journal (
          n INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL, lines TEXT NOT NULL);`);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    const stmt = db.prepare<[string, string, number]>('INSERT INTO spool (id, line, spooled_at) VALUES (?, ?, ?)');
    this.insert = db.transaction((points: readonly SpoolPoint[]) => {
      const now = Date.now();
      for (const p of points) stmt.run(p.id, p.line, now);
    });
    this.insertDead = db.prepare('INSERT INTO dead_letters (id, line, reason, at) VALUES (?, ?, ?, ?)');
    this.count = (db.prepare('SELECT count(*) AS n FROM spool').get() as { n: number }).n;
    this.deadCount = (db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;
  }

  /** Points waiting for InfluxDB. */
  depth(): number {
    return this.count;
  }

  /** Rows in the dead-letter table (kept across restarts). */
  deadLetters(): number {
    return this.deadCount;
  }

  /** Append in one transaction; durable when it returns. Throws when full or on a disk error. */
  append(points: readonly SpoolPoint[]): void {
    if (points.length === 0) return;
    if (this.count + points.length > this.maxPoints) {
      throw new Error(`influx spool ${this.file} is full (${this.count} points, max ${this.maxPoints})`);
    }
    this.insert(points);
    this.count += points.length;
  }

  /** The oldest `limit` points with seq above `after`, in seq order. */
  peek(after: number, limit: number): SpooledRow[] {
    return this.db
      .prepare<[number, number], SpooledRow>('SELECT seq, id, line FROM spool WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(after, limit);
  }

  /** Remove points `from..to` (inclusive seq range: one peeked batch). */
  remove(from: number, to: number): void {
    const { changes } = this.db.prepare('DELETE FROM spool WHERE seq BETWEEN ? AND ?').run(from, to);
    this.count -= changes;
  }

  /**
   * Move what an older release left in its journal (acknowledged, maybe not written) to the spool, in
   * order, in one transaction; returns the points moved. InfluxDB keys points by time, so one
   * that was written before the crash and is replayed again is no duplicate.
   */
  recoverJournal(): number {
    const rows = this.db.prepare<[], { n: number; ids: string; lines: string }>('SELECT n, ids, lines FROM journal ORDER BY n').all();
    if (rows.length === 0) return 0;
    const points: SpoolPoint[] = [];
    for (const r of rows) {
      const ids = r.ids.split('\n');
      r.lines.split('\n').forEach((line, i) => points.push({ id: ids[i] ?? '', line }));
    }
    this.db.transaction(() => {
      this.insert(points);
      this.db.prepare('DELETE FROM journal WHERE n <= ?').run(rows[rows.length - 1]!.n);
    })();
    this.count += points.length;
    return points.length;
  }

  deadLetter(point: SpoolPoint, reason: string): void {
    this.insertDead.run(point.id, point.line, reason, Date.now());
    this.deadCount += 1;
  }

  listDeadLetters(limit = 100): DeadLetter[] {
    return this.db.prepare<[number], DeadLetter>('SELECT id, line, reason, at FROM dead_letters ORDER BY n DESC LIMIT ?').all(limit);
  }

  close(): void {
    this.db.close();
  }
}
