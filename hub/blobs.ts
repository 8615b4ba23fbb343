import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HubDatabase } from './platform/db/index.js';

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A stored blob: a file to send (the embedded hub), or the bytes (from the database). */
export type StoredBlob = { file: string; bytes?: undefined } | { bytes: Buffer; file?: undefined };

/**
 * Content-addressed bytes the hub serves (incident snapshots, alarm clips; docs/storage.md):
 * - `files` (the embedded hub on SQLite): `{dataDir}/{dir}/ab/<sha256>.<ext>`;
 * - `database` (the hub on PostgreSQL): a `{table}` row, so every node of a cluster serves what any
 *   node received. A file of this node's data dir is still served when the table lacks the blob.
 */
export interface BlobStore {
  readonly mode: 'files' | 'database';
  /** Keep the bytes under their sha256 (once); throws when they do not hash to it. */
  put(sha256: string, bytes: Buffer): Promise<void>;
  /** The blob, or undefined; throws when stored bytes do not match their sha256. */
  get(sha256: string): Promise<StoredBlob | undefined>;
  remove(sha256: string): Promise<void>;
}

export interface BlobStoreOptions {
  db: HubDatabase;
  dataDir: string;
  /** Table of the database mode; both have (sha256, bytes, size, received_at). */
  table: 'snapshot_blobs' | 'clip_blobs';
  dir: string;
  ext: string;
  /** Default `database` on PostgreSQL, `files` on SQLite. */
  mode?: 'files' | 'database';
}

export function openBlobStore(o: BlobStoreOptions): BlobStore {
  const mode = o.mode ?? (o.db.dialect === 'postgres' ? 'database' : 'files');
  const dir = join(o.dataDir, o.dir);
  if (mode === 'files') mkdirSync(dir, { recursive: true });
  const pathOf = (sha: string) => join(dir, sha.slice(0, 2), `${sha}.${o.ext}`);
  // Both tables have the same columns: one typed name stands for either.
  const table = o.table as 'snapshot_blobs';
  return {
    mode,
    async put(sha, bytes) {
      if (sha256Hex(bytes) !== sha) throw new Error(`bytes do not match sha256 ${sha}`);
      if (mode === 'database') {
        await o.db.db.insertInto(table).values({ sha256: sha, bytes, size: bytes.length, received_at: Date.now() }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
        return;
      }
      const target = pathOf(sha);
      if (existsSync(target)) return;
      mkdirSync(join(dir, sha.slice(0, 2)), { recursive: true });
      // Write aside and rename: a reader never sees half a file, a crash leaves no half file.
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, target);
    },
    async get(sha) {
      if (mode === 'database') {
        const row = await o.db.db.selectFrom(table).select('bytes').where('sha256', '=', sha).executeTakeFirst();
        if (row) {
          const bytes = Buffer.from(row.bytes);
          // Content-addressed: bytes that do not hash to their key are damaged, never served.
          if (sha256Hex(bytes) !== sha) throw new Error(`stored blob ${sha} does not match its sha256`);
          return { bytes };
        }
      }
      const p = pathOf(sha);
      return existsSync(p) ? { file: p } : undefined;
    },
    async remove(sha) {
      if (mode === 'database') await o.db.db.deleteFrom(table).where('sha256', '=', sha).execute();
      rmSync(pathOf(sha), { force: true });
    },
  };
}
