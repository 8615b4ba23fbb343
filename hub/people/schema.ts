import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * `{dataDir}/people.db`: users, the duty roster, shift hand-overs and refresh tokens. Versioned like
 * the registry (`PRAGMA user_version`, each step once, in an IMMEDIATE transaction that re-reads the
 * version, so the CLI and a running hub opening the file together do not both migrate). Append
 * steps; never edit one: a file of an older version gains the new tables in place.
 */
const MIGRATIONS: string[] = [
  // 1: users, weekly shifts, roster exceptions
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     display_name TEXT,
     role TEXT NOT NULL CHECK (role IN ('volunteer', 'patrol', 'center', 'admin')),
     scopes TEXT NOT NULL,
     password_hash TEXT,
     token_version INTEGER NOT NULL DEFAULT 1,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE shifts (
     id TEXT PRIMARY KEY,
     user TEXT NOT NULL REFERENCES users(id),
     estate TEXT NOT NULL,
     weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
     start TEXT NOT NULL,
     "end" TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX shifts_estate ON shifts(estate);
   CREATE TABLE roster_exceptions (
     id TEXT PRIMARY KEY,
     user TEXT NOT NULL REFERENCES users(id),
     estate TEXT NOT NULL,
     "from" INTEGER NOT NULL,
     "to" INTEGER NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('off', 'on')),
     created_at INTEGER NOT NULL
   );
   CREATE INDEX roster_exceptions_estate ON roster_exceptions(estate, "to");`,
  // 2: shift hand-overs (note, who handed over to whom), and refresh tokens (stored as SHA-256 hashes
  // only; `family` is one login's chain of rotations, revoked together when a used token comes back)
  `CREATE TABLE handovers (
     id TEXT PRIMARY KEY,
     estate TEXT NOT NULL,
     from_actor TEXT NOT NULL,
     from_name TEXT NOT NULL,
     note TEXT NOT NULL,
     at INTEGER NOT NULL,
     to_users TEXT NOT NULL
   );
   CREATE INDEX handovers_estate ON handovers(estate, at DESC);
   CREATE TABLE refresh_tokens (
     id TEXT PRIMARY KEY,
     user TEXT NOT NULL REFERENCES users(id),
     family TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     token_version INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER,
     replaced_by TEXT
   );
   CREATE INDEX refresh_tokens_user ON refresh_tokens(user);
   CREATE INDEX refresh_tokens_family ON refresh_tokens(family);
   CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);`,
];

export const PEOPLE_SCHEMA_VERSION = MIGRATIONS.length;

export function openPeopleDb(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'people.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() < PEOPLE_SCHEMA_VERSION) {
    db.transaction(() => {
      for (let v = version(); v < PEOPLE_SCHEMA_VERSION; v++) {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      }
    }).immediate();
  }
  return db;
}
