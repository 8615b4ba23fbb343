import { sql } from 'kysely';
import type { Step } from './index.js';

/**
 * Blobs every hub node must be able to serve (issue 18 item 6), an entry of THE ordered list in
 * index.ts (which spreads them in place). Append only, as there.
 */
export const BLOB_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0014_snapshot_blobs',
    async (db, dialect) => {
      // Incident snapshot images by content (hub/snapshots.ts): with the hub on PostgreSQL the bytes
      // live here, so node B serves what node A received; the embedded hub keeps its files
      // (docs/storage.md, "Snapshot images"). One schema on both engines: BLOB / BYTEA.
      await db.schema
        .createTable('snapshot_blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('bytes', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
      // JPEGs do not compress: store them out of line without trying pglz first (TOAST "external").
      if (dialect === 'postgres') await sql`ALTER TABLE snapshot_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL`.execute(db);
    },
  ],
];

/** Alarm clips (issue 20, hub/clips): links by event and camera, and the bytes on PostgreSQL. */
export const CLIP_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0019_clips',
    async (db, dialect) => {
      await db.schema
        .createTable('clip_links')
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('camera', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('clip_links_pk', ['event_id', 'camera'])
        .execute();
      await db.schema.createIndex('clip_links_sha256').on('clip_links').column('sha256').execute();
      await db.schema.createIndex('clip_links_received_at').on('clip_links').column('received_at').execute();
      await db.schema
        .createTable('clip_blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('bytes', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
      // H.264 does not compress: out of line without trying pglz first (as snapshot_blobs).
      if (dialect === 'postgres') await sql`ALTER TABLE clip_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL`.execute(db);
    },
  ],
];
