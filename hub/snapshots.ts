import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Incident snapshots: JPEGs a gateway took from the camera(s) linked to a gate or barrier when an
 * alarm-class event happened. Stored once per content (`{dataDir}/snapshots/ab/<sha256>.jpg`), linked
 * to the event by id in `{dataDir}/snapshots.db`.
 */
export interface SnapshotLink {
  eventId: string;
  sha256: string;
  estate: string;
  gateway: string;
  device: string;
  camera: string;
  takenAt: number;
}

export interface SnapshotStore {
  /** Keep the bytes (if new) and the link; returns false when the link already existed. */
  put(link: SnapshotLink, bytes: Buffer): boolean;
  /** Path of the file of one snapshot, or undefined. */
  file(sha256: string): string | undefined;
  forEvent(eventId: string): SnapshotLink[];
  /** Estates whose events link this snapshot (for scope checks on reads). */
  estatesOf(sha256: string): string[];
  /** sha256 list per event id, for a page of events. */
  forEvents(eventIds: readonly string[]): Map<string, string[]>;
  close(): void;
}

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export function openSnapshotStore(dataDir: string): SnapshotStore {
  const dir = join(dataDir, 'snapshots');
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dataDir, 'snapshots.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS links (
    event_id TEXT NOT NULL, sha256 TEXT NOT NULL, estate TEXT NOT NULL, gateway TEXT NOT NULL,
    device TEXT NOT NULL, camera TEXT NOT NULL, taken_at INTEGER NOT NULL, received_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, sha256)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS links_sha ON links(sha256)`);
  const insert = db.prepare(
    `INSERT OR IGNORE INTO links (event_id, sha256, estate, gateway, device, camera, taken_at, received_at)
     VALUES (@eventId, @sha256, @estate, @gateway, @device, @camera, @takenAt, @receivedAt)`,
  );
  type Row = { event_id: string; sha256: string; estate: string; gateway: string; device: string; camera: string; taken_at: number };
  const byEvent = db.prepare<[string], Row>('SELECT * FROM links WHERE event_id = ? ORDER BY taken_at');
  // The id list is bound as one JSON array parameter: no SQL is built from input.
  const byEvents = db.prepare<[string], { event_id: string; sha256: string }>(
    'SELECT event_id, sha256 FROM links WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY taken_at',
  );
  const estatesOfSha = db.prepare<[string], { estate: string }>('SELECT DISTINCT estate FROM links WHERE sha256 = ?');
  const pathOf = (sha: string) => join(dir, sha.slice(0, 2), `${sha}.jpg`);
  const toLink = (r: Row): SnapshotLink => ({
    eventId: r.event_id,
    sha256: r.sha256,
    estate: r.estate,
    gateway: r.gateway,
    device: r.device,
    camera: r.camera,
    takenAt: r.taken_at,
  });

  return {
    put(link, bytes) {
      const target = pathOf(link.sha256);
      if (!existsSync(target)) {
        mkdirSync(join(dir, link.sha256.slice(0, 2)), { recursive: true });
        // Write aside and rename: a reader never sees half a file, a crash leaves no half file.
        const tmp = `${target}.${process.pid}.tmp`;
        writeFileSync(tmp, bytes);
        renameSync(tmp, target);
      }
      return insert.run({ ...link, receivedAt: Date.now() }).changes > 0;
    },
    file(sha) {
      const p = pathOf(sha);
      return existsSync(p) ? p : undefined;
    },
    forEvent: (eventId) => byEvent.all(eventId).map(toLink),
    estatesOf: (sha) => estatesOfSha.all(sha).map((r) => r.estate),
    forEvents(ids) {
      const out = new Map<string, string[]>();
      if (ids.length === 0) return out;
      for (const r of byEvents.all(JSON.stringify(ids))) {
        const list = out.get(r.event_id) ?? [];
        list.push(r.sha256);
        out.set(r.event_id, list);
      }
      return out;
    },
    close: () => db.close(),
  };
}
