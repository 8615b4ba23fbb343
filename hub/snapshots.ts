import { openBlobStore, sha256Hex, type StoredBlob } from './blobs.js';
import type { LogFeed } from './eventlog/index.js';
import { entryOf } from './eventlog/index.js';
import type { HubDatabase } from './platform/db/index.js';

/**
 * Incident snapshots: JPEGs a gateway took from the camera(s) linked to a gate or barrier when an
 * alarm-class event happened. Stored once per content, linked to the event by id in the hub database
 * (table `snapshot_links`). Where the bytes live (docs/storage.md, "Snapshot images"):
 * - `files` (the embedded hub on SQLite): `{dataDir}/snapshots/ab/<sha256>.jpg`;
 * - `database` (the hub on PostgreSQL): table `snapshot_blobs`, so every node of a cluster serves
 *   what any node received. A file of this node's data dir is still served when the table lacks
 *   the image (snapshots taken before the hub moved to PostgreSQL).
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
  /**
   * Keep the bytes (if new) and the link; returns false when the link already existed. With the
   * event log, the link and its log entry commit together and the link is delivered (bus `snapshot`)
   * from the log.
   */
  put(link: SnapshotLink, bytes: Buffer): Promise<boolean>;
  /** The image of one snapshot (a file to send, or the bytes), or undefined; throws when stored bytes do not match their sha256. */
  image(sha256: string): Promise<SnapshotImage | undefined>;
  forEvent(eventId: string): Promise<SnapshotLink[]>;
  /** Estates whose events link this snapshot (for scope checks on reads). */
  estatesOf(sha256: string): Promise<string[]>;
  /** sha256 list per event id, for a page of events. */
  forEvents(eventIds: readonly string[]): Promise<Map<string, string[]>>;
}

export type SnapshotImage = StoredBlob;

export interface SnapshotStoreOptions {
  dataDir: string;
  db: HubDatabase;
  /** Where the bytes go: default `database` on PostgreSQL, `files` on SQLite. */
  images?: 'files' | 'database';
  /** Largest image kept (the upload route caps the body first; default 64 MiB, the config's ceiling). */
  maxBytes?: number;
  /** The event log: a new link is appended to it in the link's transaction and delivered from it. */
  feed?: Pick<LogFeed, 'append'>;
}

export { sha256Hex };

export function openSnapshotStore(opts: SnapshotStoreOptions): SnapshotStore {
  const { db: hubDb, feed } = opts;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const blobs = openBlobStore({ db: hubDb, dataDir: opts.dataDir, table: 'snapshot_blobs', dir: 'snapshots', ext: 'jpg', ...(opts.images ? { mode: opts.images } : {}) });
  const columns = ['event_id', 'sha256', 'estate', 'gateway', 'device', 'camera', 'taken_at'] as const;
  const toLink = (r: { event_id: string; sha256: string; estate: string; gateway: string; device: string; camera: string; taken_at: number }): SnapshotLink => ({
    eventId: r.event_id,
    sha256: r.sha256,
    estate: r.estate,
    gateway: r.gateway,
    device: r.device,
    camera: r.camera,
    takenAt: Number(r.taken_at),
  });
  const rowOf = (link: SnapshotLink) => ({
    event_id: link.eventId,
    sha256: link.sha256,
    estate: link.estate,
    gateway: link.gateway,
    device: link.device,
    camera: link.camera,
    taken_at: link.takenAt,
    received_at: Date.now(),
  });

  return {
    async put(link, bytes) {
      if (bytes.length > maxBytes) throw new RangeError(`snapshot of ${bytes.length} bytes is over the cap of ${maxBytes}`);
      // The image first, then the link: a link never points at nothing; an image whose link failed
      // is linked by the gateway's retry (same content, same key).
      await blobs.put(link.sha256, bytes);
      if (feed) {
        // The log key is the link's (event, sha256): a conflict means the link is there already.
        const fresh = await feed.append([entryOf('snapshot', link)], async (trx, added) => {
          if (added.length > 0) await trx.insertInto('snapshot_links').values(rowOf(link)).onConflict((oc) => oc.columns(['event_id', 'sha256']).doNothing()).execute();
        });
        return fresh.length > 0;
      }
      const r = await hubDb.db.insertInto('snapshot_links').values(rowOf(link)).onConflict((oc) => oc.columns(['event_id', 'sha256']).doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    image: (sha) => blobs.get(sha),
    async forEvent(eventId) {
      const rows = await hubDb.db.selectFrom('snapshot_links').select(columns).where('event_id', '=', eventId).orderBy('taken_at').execute();
      return rows.map(toLink);
    },
    async estatesOf(sha) {
      const rows = await hubDb.db.selectFrom('snapshot_links').select('estate').distinct().where('sha256', '=', sha).execute();
      return rows.map((r) => r.estate);
    },
    async forEvents(ids) {
      const out = new Map<string, string[]>();
      if (ids.length === 0) return out;
      // A page of events (at most a few hundred ids): bound as parameters of one IN list.
      const rows = await hubDb.db.selectFrom('snapshot_links').select(['event_id', 'sha256']).where('event_id', 'in', [...ids]).orderBy('taken_at').execute();
      for (const r of rows) {
        const list = out.get(r.event_id) ?? [];
        list.push(r.sha256);
        out.set(r.event_id, list);
      }
      return out;
    },
  };
}
