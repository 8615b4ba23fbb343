import { openBlobStore, type StoredBlob } from '../blobs.js';
import type { HubDatabase } from '../platform/db/index.js';

/** An alarm clip: the MP4 a gateway cut from a linked camera around an alarm (docs/video.md, "Alarm clips"). */
export interface ClipLink {
  eventId: string;
  camera: string;
  sha256: string;
  estate: string;
  gateway: string;
  device: string;
  /** When its first and last segment reached the gateway, ms. */
  startedAt: number;
  endedAt: number;
  size: number;
  receivedAt: number;
}

export interface ClipStore {
  /** Keep the bytes (once per content) and the link; false when the event already had this camera's clip. */
  put(link: Omit<ClipLink, 'receivedAt' | 'size'>, bytes: Buffer): Promise<boolean>;
  /** The clips of these events, oldest first. */
  forEvents(eventIds: readonly string[]): Promise<ClipLink[]>;
  /** The links that point at one clip's bytes (for scope checks and the audit). */
  linksOf(sha256: string): Promise<ClipLink[]>;
  bytes(sha256: string): Promise<StoredBlob | undefined>;
  /** Forget clips received before `cutoff` (ms) and the bytes nothing links any more; returns how many links went. */
  prune(cutoff: number): Promise<number>;
}

type Row = { event_id: string; camera: string; sha256: string; estate: string; gateway: string; device: string; started_at: number; ended_at: number; size: number; received_at: number };

const toLink = (r: Row): ClipLink => ({
  eventId: r.event_id,
  camera: r.camera,
  sha256: r.sha256,
  estate: r.estate,
  gateway: r.gateway,
  device: r.device,
  startedAt: Number(r.started_at),
  endedAt: Number(r.ended_at),
  size: Number(r.size),
  receivedAt: Number(r.received_at),
});

/** Bytes as files (SQLite) or `clip_blobs` rows (PostgreSQL), like snapshots (hub/blobs.ts); links in `clip_links`. */
export function openClipStore(o: { db: HubDatabase; dataDir: string; mode?: 'files' | 'database' }): ClipStore {
  const { db } = o.db;
  const blobs = openBlobStore({ db: o.db, dataDir: o.dataDir, table: 'clip_blobs', dir: 'clips', ext: 'mp4', ...(o.mode ? { mode: o.mode } : {}) });
  return {
    async put(link, bytes) {
      // The bytes first, then the link: a link never points at nothing.
      await blobs.put(link.sha256, bytes);
      const row: Row = {
        event_id: link.eventId,
        camera: link.camera,
        sha256: link.sha256,
        estate: link.estate,
        gateway: link.gateway,
        device: link.device,
        started_at: link.startedAt,
        ended_at: link.endedAt,
        size: bytes.length,
        received_at: Date.now(),
      };
      const r = await db.insertInto('clip_links').values(row).onConflict((oc) => oc.columns(['event_id', 'camera']).doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async forEvents(ids) {
      if (ids.length === 0) return [];
      // An alert links at most 100 events: bound as parameters of one IN list.
      const rows = await db.selectFrom('clip_links').selectAll().where('event_id', 'in', [...ids]).orderBy('started_at').execute();
      return rows.map(toLink);
    },
    async linksOf(sha) {
      return (await db.selectFrom('clip_links').selectAll().where('sha256', '=', sha).execute()).map(toLink);
    },
    bytes: (sha) => blobs.get(sha),
    async prune(cutoff) {
      const old = await db.selectFrom('clip_links').select(['event_id', 'camera', 'sha256']).where('received_at', '<', cutoff).limit(1_000).execute();
      for (const r of old) await db.deleteFrom('clip_links').where('event_id', '=', r.event_id).where('camera', '=', r.camera).execute();
      for (const sha of new Set(old.map((r) => r.sha256))) {
        const still = await db.selectFrom('clip_links').select('event_id').where('sha256', '=', sha).executeTakeFirst();
        if (!still) await blobs.remove(sha);
      }
      return old.length;
    },
  };
}
