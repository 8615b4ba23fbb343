import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { backoffDelay } from './uplink.js';

/**
 * A spool of files the hub must get: incident snapshots and alarm clips. Each item is a file named by
 * its content (`{dataDir}/{name}/<sha256>.<ext>`) and a row in `{dataDir}/{name}.db` with the query
 * the upload carries; items go up in order (PUT `{route}/<sha256>?<query>`, the gateway's Basic login)
 * until the hub has them, through hub restarts and link cuts, like events. A body the hub refuses
 * (400, 413) would be refused again: it is dropped loudly. Past `maxPending` the oldest item goes.
 */
export interface UploadSpoolOptions {
  dataDir: string;
  /** The spool's directory and database name: `snapshots`, `clips`. */
  name: string;
  /** File extension and upload content type. */
  ext: string;
  contentType: string;
  /** Hub route the file is PUT under, e.g. `api/v1/snapshots`. */
  route: string;
  /** Hub HTTP base URL (config hub.httpUrl); without it nothing is kept. */
  hubUrl: string | undefined;
  username: string;
  password: string;
  log: Logger;
  maxPending: number;
  /** One upload's deadline; default 15 s (a clip of several MB over a slow estate uplink wants more). */
  uploadTimeoutMs?: number;
}

export interface SpoolItem {
  /** Unique per item (e.g. event id and camera): a second add of the same key is ignored. */
  key: string;
  sha256: string;
  /** The upload's query parameters. */
  query: Record<string, string>;
}

export interface UploadSpool {
  start(): void;
  stop(): Promise<void>;
  /** Keep the bytes (once per content) and the item, then upload soon. */
  add(item: SpoolItem, bytes: Buffer): void;
  pending(): number;
}

type Row = { n: number; key: string; sha256: string; query: string };

export function createUploadSpool(o: UploadSpoolOptions): UploadSpool {
  const { log } = o;
  const dir = join(o.dataDir, o.name);
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(o.dataDir, `${o.name}.db`));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS uploads (n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, query TEXT NOT NULL)');
  const insert = db.prepare('INSERT OR IGNORE INTO uploads (key, sha256, query) VALUES (?, ?, ?)');
  const next = db.prepare<[number], Row>('SELECT * FROM uploads ORDER BY n LIMIT ?');
  const remove = db.prepare('DELETE FROM uploads WHERE n = ?');
  const count = db.prepare<[], { c: number }>('SELECT count(*) AS c FROM uploads');
  const users = db.prepare<[string], { c: number }>('SELECT count(*) AS c FROM uploads WHERE sha256 = ?');
  const fileOf = (sha: string) => join(dir, `${sha}.${o.ext}`);
  const base = o.hubUrl === undefined ? undefined : o.hubUrl.endsWith('/') ? o.hubUrl : `${o.hubUrl}/`;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let attempt = 0;

  function forget(row: Row): void {
    remove.run(row.n);
    if (users.get(row.sha256)!.c === 0 && existsSync(fileOf(row.sha256))) unlinkSync(fileOf(row.sha256));
  }

  async function upload(row: Row): Promise<'done' | 'retry'> {
    const file = fileOf(row.sha256);
    if (!existsSync(file)) {
      log.error({ key: row.key }, `${o.name}: file missing from the spool; dropped`);
      return 'done';
    }
    const url = new URL(`${o.route}/${row.sha256}`, base);
    for (const [k, v] of Object.entries(JSON.parse(row.query) as Record<string, string>)) url.searchParams.set(k, v);
    try {
      const res = await fetch(url, {
        method: 'PUT',
        body: readFileSync(file),
        headers: { 'content-type': o.contentType, authorization: `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}` },
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(o.uploadTimeoutMs ?? 15_000)]),
      });
      const text = await res.text().catch(() => '');
      if (res.ok) return 'done';
      if (res.status === 400 || res.status === 413) {
        log.error({ status: res.status, key: row.key, answer: text.slice(0, 300) }, `hub refused an upload of ${o.name}; dropped`);
        return 'done';
      }
      log.warn({ status: res.status }, `${o.name} upload not accepted yet; will retry`);
      return 'retry';
    } catch (err) {
      log.debug({ err: (err as Error).message }, `${o.name} upload failed; will retry`);
      return 'retry';
    }
  }

  async function drain(): Promise<void> {
    while (!stopping.signal.aborted) {
      const rows = next.all(10);
      if (rows.length === 0) return;
      for (const row of rows) {
        if ((await upload(row)) === 'retry') {
          schedule(backoffDelay(attempt++, 1_000, 30_000));
          return;
        }
        attempt = 0;
        forget(row);
      }
    }
  }

  function schedule(ms = 0): void {
    if (stopping.signal.aborted || !base) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (running) return schedule(ms);
      running = drain()
        .catch((err: unknown) => log.error({ err }, `${o.name} upload loop failed`))
        .finally(() => (running = undefined));
    }, ms);
    timer.unref();
  }

  return {
    start: () => schedule(),
    async stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await running;
      db.close();
    },
    add(item, bytes) {
      const file = fileOf(item.sha256);
      if (!existsSync(file)) {
        writeFileSync(`${file}.tmp`, bytes);
        renameSync(`${file}.tmp`, file);
      }
      insert.run(item.key, item.sha256, JSON.stringify(item.query));
      while (count.get()!.c > o.maxPending) {
        const [oldest] = next.all(1);
        if (!oldest) break;
        log.warn({ key: oldest.key }, `${o.name} spool full: the oldest dropped`);
        forget(oldest);
      }
      schedule();
    },
    pending: () => count.get()!.c,
  };
}

/**
 * The snapshot spool before it was an upload spool (table `pending` with one column per field): its
 * rows move into `uploads` once, so an upgraded gateway still uploads what it had kept.
 */
export function upgradeSnapshotSpool(dataDir: string): void {
  const file = join(dataDir, 'snapshots.db');
  if (!existsSync(file)) return;
  const db = new Database(file);
  try {
    const old = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'pending'").get();
    if (!old) return;
    db.exec('CREATE TABLE IF NOT EXISTS uploads (n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, query TEXT NOT NULL)');
    db.transaction(() => {
      db.exec(`INSERT OR IGNORE INTO uploads (key, sha256, query)
        SELECT event_id || '/' || camera, sha256,
          json_object('event', event_id, 'device', device, 'camera', camera, 'takenAt', CAST(taken_at AS TEXT))
        FROM pending ORDER BY n`);
      db.exec('DROP TABLE pending');
    })();
  } finally {
    db.close();
  }
}
