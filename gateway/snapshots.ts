import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { RbEvent } from '../protocol/index.js';
import { backoffDelay } from './uplink.js';

export interface Snapshot {
  bytes: Buffer;
  sha256: string;
}

export interface SnapshotServiceDeps {
  dataDir: string;
  /** Hub HTTP base URL (config hub.httpUrl). */
  hubUrl: string | undefined;
  username: string;
  password: string;
  log: Logger;
  /** Take a snapshot from one camera device (its driver's camera.snapshot). */
  take(camera: string, signal: AbortSignal): Promise<Snapshot>;
  /** Most snapshots waiting for upload; the oldest goes when a new one would pass it. */
  maxPending?: number;
  takeTimeoutMs?: number;
}

export interface SnapshotService {
  start(): void;
  stop(): Promise<void>;
  /** Take snapshots of an alarm from its linked cameras, keep them on disk, upload them. Never throws. */
  capture(event: RbEvent, cameras: readonly string[]): void;
  pending(): number;
}

/**
 * Incident snapshots: when an alarm-class event comes from a gate or barrier that the config links to
 * cameras, each camera's snapshot is taken at once, kept in a spool on disk (`{dataDir}/snapshots.db`
 * and `{dataDir}/snapshots/`), and uploaded to the hub (PUT /api/v1/snapshots/{sha256}, gateway
 * credentials) until the hub has it — through hub restarts and link cuts, like events.
 */
export function createSnapshotService(deps: SnapshotServiceDeps): SnapshotService {
  const { log } = deps;
  const maxPending = deps.maxPending ?? 2_000;
  const dir = join(deps.dataDir, 'snapshots');
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(deps.dataDir, 'snapshots.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS pending (
    n INTEGER PRIMARY KEY, event_id TEXT NOT NULL, device TEXT NOT NULL, camera TEXT NOT NULL,
    sha256 TEXT NOT NULL, taken_at INTEGER NOT NULL, UNIQUE (event_id, camera))`);
  type Row = { n: number; event_id: string; device: string; camera: string; sha256: string; taken_at: number };
  const insert = db.prepare('INSERT OR IGNORE INTO pending (event_id, device, camera, sha256, taken_at) VALUES (?, ?, ?, ?, ?)');
  const next = db.prepare<[number], Row>('SELECT * FROM pending ORDER BY n LIMIT ?');
  const remove = db.prepare('DELETE FROM pending WHERE n = ?');
  const count = db.prepare<[], { c: number }>('SELECT count(*) AS c FROM pending');
  const users = db.prepare<[string], { c: number }>('SELECT count(*) AS c FROM pending WHERE sha256 = ?');
  const fileOf = (sha: string) => join(dir, `${sha}.jpg`);
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
      log.error({ event: row.event_id, camera: row.camera }, 'snapshot file missing from the spool; dropped');
      return 'done';
    }
    const url = new URL(`api/v1/snapshots/${row.sha256}`, deps.hubUrl!.endsWith('/') ? deps.hubUrl : `${deps.hubUrl}/`);
    for (const [k, v] of Object.entries({ event: row.event_id, device: row.device, camera: row.camera, takenAt: String(row.taken_at) })) url.searchParams.set(k, v);
    try {
      const res = await fetch(url, {
        method: 'PUT',
        body: readFileSync(file),
        headers: { 'content-type': 'image/jpeg', authorization: `Basic ${Buffer.from(`${deps.username}:${deps.password}`).toString('base64')}` },
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(15_000)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'done';
      // A refused body will be refused again: drop it loudly. Auth, overload and server errors pass.
      if (res.status === 400 || res.status === 413) {
        log.error({ status: res.status, event: row.event_id }, 'hub refused a snapshot; dropped');
        return 'done';
      }
      log.warn({ status: res.status }, 'snapshot upload not accepted yet; will retry');
      return 'retry';
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'snapshot upload failed; will retry');
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
    if (stopping.signal.aborted || !deps.hubUrl) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (running) return schedule(ms);
      running = drain()
        .catch((err: unknown) => log.error({ err }, 'snapshot upload loop failed'))
        .finally(() => (running = undefined));
    }, ms);
    timer.unref();
  }

  async function takeOne(event: RbEvent, camera: string): Promise<void> {
    const snap = await deps.take(camera, AbortSignal.any([stopping.signal, AbortSignal.timeout(deps.takeTimeoutMs ?? 10_000)]));
    const file = fileOf(snap.sha256);
    if (!existsSync(file)) {
      writeFileSync(`${file}.tmp`, snap.bytes);
      renameSync(`${file}.tmp`, file);
    }
    insert.run(event.id, event.device, camera, snap.sha256, Date.now());
    while (count.get()!.c > maxPending) {
      const [oldest] = next.all(1);
      if (!oldest) break;
      log.warn({ event: oldest.event_id, camera: oldest.camera }, 'snapshot spool full: oldest snapshot dropped');
      forget(oldest);
    }
    log.info({ event: event.id, device: event.device, camera, sha256: snap.sha256 }, 'incident snapshot taken');
    schedule();
  }

  return {
    start: () => schedule(),
    async stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await running;
      db.close();
    },
    capture(event, cameras) {
      if (!deps.hubUrl) return;
      for (const camera of cameras) {
        takeOne(event, camera).catch((err: unknown) =>
          log.warn({ event: event.id, camera, err: (err as Error).message }, 'incident snapshot not taken'),
        );
      }
    },
    pending: () => count.get()!.c,
  };
}
