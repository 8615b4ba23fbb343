import type { Database } from 'better-sqlite3';

/**
 * Registry schema, versioned with `PRAGMA user_version`. Each step runs once, in an IMMEDIATE
 * transaction that re-reads the version, so a CLI and a running hub opening the same file at the same
 * moment do not both migrate. Databases written before versioning (only `gateways`, version 0) upgrade
 * in place; their rows keep working.
 */
const MIGRATIONS: string[] = [
  // 1: gateways (the table as it existed before versioning)
  `CREATE TABLE IF NOT EXISTS gateways (
     estate TEXT NOT NULL,
     gateway TEXT NOT NULL,
     username TEXT NOT NULL UNIQUE,
     secret_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER,
     PRIMARY KEY (estate, gateway)
   );`,
  // 2: streets, estates, devices, credential changes (seen by a running hub within a poll interval)
  `CREATE TABLE streets (
     id TEXT PRIMARY KEY,
     name TEXT
   );
   CREATE TABLE estates (
     id TEXT PRIMARY KEY,
     street TEXT REFERENCES streets(id),
     name TEXT
   );
   CREATE INDEX estates_street ON estates(street);
   INSERT OR IGNORE INTO estates (id) SELECT DISTINCT estate FROM gateways;
   ALTER TABLE gateways ADD COLUMN rotated_at INTEGER;
   CREATE TABLE devices (
     estate TEXT NOT NULL,
     gateway TEXT NOT NULL,
     device TEXT NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     online INTEGER NOT NULL,
     PRIMARY KEY (estate, gateway, device)
   );
   CREATE TABLE credential_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     estate TEXT NOT NULL,
     gateway TEXT NOT NULL,
     kind TEXT NOT NULL,
     at INTEGER NOT NULL
   );`,
  // 3: city-management grids (a patrol's beat) and each estate's grid, for scopes `grid:G`
  `CREATE TABLE grids (
     id TEXT PRIMARY KEY,
     street TEXT REFERENCES streets(id),
     name TEXT
   );
   ALTER TABLE estates ADD COLUMN grid TEXT REFERENCES grids(id);
   CREATE INDEX estates_grid ON estates(grid);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() >= SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let v = version(); v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
