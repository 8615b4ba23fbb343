import type { Generated } from 'kysely';

/**
 * Tables of the event log (issue 16, item 2), the embedded events table and the snapshot links
 * (migration 0006_event_log).
 */

/** What a log entry carries: one kind per thing that flows downstream of ingest. */
export type LogKind = 'event' | 'status' | 'connection' | 'snapshot' | 'command.result' | 'seen';

/**
 * The durable log: everything ingest accepted, in commit order. `id` is the key that decides
 * duplicates (the event id for events; a derived key for the other kinds), `pos` the increasing
 * position consumers' cursors point at. `seen` rows are event ids imported from a legacy dedup
 * window: keys only, never delivered.
 */
export interface EventLogTable {
  pos: Generated<number>;
  id: string;
  kind: LogKind;
  estate: string;
  /** Received (committed), ms. */
  at: number;
  /** The payload as JSON ('' for `seen`). */
  body: string;
  /** The partition of `estate` (hub/cluster/partition.ts); 0 before migration `0013_partitions`. */
  part: Generated<number>;
}

/** One row per consumer (state, alerts, push, facts): the last position it has handled. */
export interface LogCursorTable {
  consumer: string;
  pos: number;
  at: number;
}

/** The embedded event store (no InfluxDB configured): hub/store/sqlite.ts. */
export interface EventsTable {
  id: string;
  estate: string;
  gateway: string;
  device: string;
  type: string;
  ts: number;
  seq: number;
  data: string;
  received_at: number;
}

/** Incident snapshot links (hub/snapshots.ts); the images are files (SQLite) or `snapshot_blobs` rows (PostgreSQL). */
export interface SnapshotLinkTable {
  event_id: string;
  sha256: string;
  estate: string;
  gateway: string;
  device: string;
  camera: string;
  taken_at: number;
  received_at: number;
}

/** Incident snapshot images by content (migration `0014_snapshot_blobs`): the hub on PostgreSQL keeps them here. */
export interface SnapshotBlobTable {
  sha256: string;
  bytes: Buffer;
  size: number;
  received_at: number;
}

/** Alarm clips linked to the event that raised them (hub/clips, migration `0019_clips`). */
export interface ClipLinkTable {
  event_id: string;
  camera: string;
  sha256: string;
  estate: string;
  gateway: string;
  device: string;
  started_at: number;
  ended_at: number;
  size: number;
  received_at: number;
}

/** Alarm clip bytes by content, for the hub on PostgreSQL (like snapshot_blobs). */
export interface ClipBlobTable {
  sha256: string;
  bytes: Buffer;
  size: number;
  received_at: number;
}

export interface EventsSchema {
  event_log: EventLogTable;
  log_cursors: LogCursorTable;
  events: EventsTable;
  snapshot_links: SnapshotLinkTable;
  snapshot_blobs: SnapshotBlobTable;
  clip_links: ClipLinkTable;
  clip_blobs: ClipBlobTable;
}
