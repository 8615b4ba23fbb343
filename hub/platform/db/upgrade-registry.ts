import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { HubDatabase } from './open.js';

const BATCH = 500;

export interface RegistryImport {
  streets: number;
  grids: number;
  estates: number;
  gateways: number;
  devices: number;
}

type Legacy = {
  streets: Array<{ id: string; name: string | null }>;
  grids: Array<{ id: string; street: string | null; name: string | null }>;
  estates: Array<{ id: string; street: string | null; grid: string | null; name: string | null }>;
  gateways: Array<{ estate: string; gateway: string; username: string; secret_hash: string; created_at: number; rotated_at: number | null; revoked_at: number | null }>;
  devices: Array<{ estate: string; gateway: string; device: string; first_seen: number; last_seen: number; online: number }>;
};

/** Read every row of a legacy registry.db, whatever its version (0: only `gateways`; 3: the last one). */
function readLegacy(file: string): Legacy {
  // Opened read-write, not read-only: closing it checkpoints its WAL into the file, so the renamed
  // file is whole by itself (no -wal/-shm beside it).
  const old = new Database(file, { fileMustExist: true });
  try {
    const tables = new Set(old.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
    const columns = (table: string): Set<string> => new Set(old.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all().map((r) => r.name));
    const all = <T>(table: string, sql: string): T[] => (tables.has(table) ? old.prepare<[], T>(sql).all() : []);
    const rotated = tables.has('gateways') && columns('gateways').has('rotated_at') ? 'rotated_at' : 'NULL AS rotated_at';
    const grid = tables.has('estates') && columns('estates').has('grid') ? 'grid' : 'NULL AS grid';
    return {
      streets: all('streets', 'SELECT id, name FROM streets ORDER BY id'),
      grids: all('grids', 'SELECT id, street, name FROM grids ORDER BY id'),
      estates: all('estates', `SELECT id, street, ${grid}, name FROM estates ORDER BY id`),
      gateways: all('gateways', `SELECT estate, gateway, username, secret_hash, created_at, ${rotated}, revoked_at FROM gateways ORDER BY estate, gateway`),
      devices: all('devices', 'SELECT estate, gateway, device, first_seen, last_seen, online FROM devices ORDER BY estate, gateway, device'),
    };
  } finally {
    old.close();
  }
}

/**
 * Upgrade (issue 16, item 8): the registry of a release that kept it in `{dataDir}/registry.db`
 * (streets, grids, estates, gateways with their scrypt hashes and created / rotated / revoked
 * times, devices) is copied into the hub database once, then the old file is renamed
 * `registry.db.migrated` (kept, not deleted). Its credential-change log is not copied: it only
 * told a running hub about changes, and no hub runs on the old file any more. The copy runs only
 * while the hub database's registry is empty (no street, grid, estate or gateway), so a second
 * start, or an old file put back by hand later, changes nothing; it commits in one transaction, so
 * a crash in between leaves registry.db in place and the next start copies again. Files written
 * before the registry had versions (only `gateways`) are read too; each gateway's estate is
 * registered, as `gateway add` does.
 *
 * Returns the rows copied (all 0 when there was nothing to do).
 */
export async function importLegacyRegistry(hubDb: HubDatabase, dataDir: string, log: Logger): Promise<RegistryImport> {
  const none: RegistryImport = { streets: 0, grids: 0, estates: 0, gateways: 0, devices: 0 };
  const file = join(dataDir, 'registry.db');
  if (!existsSync(file)) return none;
  const { db } = hubDb;
  for (const table of ['streets', 'grids', 'estates', 'gateways'] as const) {
    if ((await db.selectFrom(table).select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n > 0) {
      log.warn({ file, table }, 'registry.db left in place: the hub database already has a registry');
      return none;
    }
  }
  const old = readLegacy(file);
  const known = new Set(old.estates.map((e) => e.id));
  for (const g of old.gateways) {
    if (!known.has(g.estate)) {
      known.add(g.estate);
      old.estates.push({ id: g.estate, street: null, grid: null, name: null });
    }
  }
  await hubDb.transaction(async (trx) => {
    const batches = <T>(rows: T[]): T[][] => Array.from({ length: Math.ceil(rows.length / BATCH) }, (_, i) => rows.slice(i * BATCH, (i + 1) * BATCH));
    // In the order of the foreign keys: grids and estates name streets, estates name grids.
    for (const rows of batches(old.streets)) await trx.insertInto('streets').values(rows).execute();
    for (const rows of batches(old.grids)) await trx.insertInto('grids').values(rows).execute();
    for (const rows of batches(old.estates)) await trx.insertInto('estates').values(rows).execute();
    for (const rows of batches(old.gateways)) await trx.insertInto('gateways').values(rows).execute();
    for (const rows of batches(old.devices)) await trx.insertInto('devices').values(rows).execute();
  });
  renameSync(file, `${file}.migrated`);
  const copied: RegistryImport = { streets: old.streets.length, grids: old.grids.length, estates: old.estates.length, gateways: old.gateways.length, devices: old.devices.length };
  log.info({ from: file, ...copied, keptAs: `${file}.migrated` }, 'registry moved into the hub database');
  return copied;
}
