import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { HubDatabase } from './open.js';

const BATCH = 500;

/**
 * Upgrade (issue 16, item 8), first piece: the audit log of a release that kept it in its own file,
 * `{dataDir}/audit.db`, is copied into the hub database once, with its `seq` (the paging cursor
 * screens may hold), then the old file is renamed `audit.db.migrated` (kept, not deleted). It runs
 * only while the hub database has no audit row, so a second start, or an old file put back by hand
 * later, never duplicates entries. Copy and count commit in one transaction: a crash in between
 * leaves audit.db in place and an empty table, and the next start copies again.
 *
 * Returns the number of rows copied (0 when there was nothing to do).
 */
export async function importLegacyAudit(hubDb: HubDatabase, dataDir: string, log: Logger): Promise<number> {
  const file = join(dataDir, 'audit.db');
  if (!existsSync(file)) return 0;
  const { db } = hubDb;
  const existing = await db.selectFrom('audit').select('seq').limit(1).execute();
  if (existing.length > 0) {
    log.warn({ file }, 'audit.db left in place: the hub database already has audit entries');
    return 0;
  }
  type Row = { seq: number; at: number; actor: string; action: string; estate: string | null; target: string | null; detail: string | null };
  // Opened read-write, not read-only: closing it checkpoints its WAL into the file, so the renamed
  // file is whole by itself (no -wal/-shm beside it).
  const old = new Database(file, { fileMustExist: true });
  let rows: Row[];
  try {
    rows = old.prepare<[], Row>('SELECT seq, at, actor, action, estate, target, detail FROM audit ORDER BY seq').all();
  } finally {
    old.close();
  }
  await hubDb.transaction(async (trx) => {
    for (let i = 0; i < rows.length; i += BATCH) await trx.insertInto('audit').values(rows.slice(i, i + BATCH)).execute();
    // An explicit seq does not move PostgreSQL's identity sequence (SQLite's AUTOINCREMENT follows
    // max(rowid) by itself): set it past the copied rows, or the next insert collides.
    if (hubDb.dialect === 'postgres' && rows.length > 0) {
      await sql`SELECT setval(pg_get_serial_sequence('audit', 'seq'), (SELECT max(seq) FROM audit))`.execute(trx);
    }
  });
  renameSync(file, `${file}.migrated`);
  log.info({ from: file, rows: rows.length, keptAs: `${file}.migrated` }, 'audit log moved into the hub database');
  return rows.length;
}
