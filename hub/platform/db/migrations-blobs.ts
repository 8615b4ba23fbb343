import { sql } from 'kysely';
import type { Step } from './migrations.js';

/**
 * Blobs every hub node must be able to serve (issue 18 item 6), an entry of THE ordered list in
 * migrations.ts (which spreads them in place). Append only, as there.
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
