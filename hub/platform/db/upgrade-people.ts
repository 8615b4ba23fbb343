import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { isUniqueViolation } from './errors.js';
import type { HubDatabase } from './open.js';
import type { PeopleSchema } from './schema-people.js';

const BATCH = 500;

type Tables = Omit<PeopleSchema, 'people_changes'>;
export type PeopleImportCounts = { [K in keyof Tables]: number };

/**
 * Upgrade (issue 16, item 8): `{dataDir}/people.db` of a release that kept people in their own file
 * (users with their password hashes, shifts, roster exceptions, hand-overs, refresh tokens) is
 * copied into the hub database once, then renamed `people.db.migrated` (kept, not deleted). Columns
 * are renamed on the way (`user` → `user_id`, `from`/`to` → `from_at`/`to_at`); values are copied as
 * they are, so passwords, tokens issued before (same user ids and token versions, same jwt.key) and
 * refresh tokens (same hashes) keep working.
 *
 * It runs only while the hub database has no user, checked in the copying transaction, so a second
 * start, the CLI racing the hub, or an old file put back later never duplicates anyone. A file of
 * schema 1 (no hand-overs or refresh tokens yet) is read as far as it goes. Returns the rows copied
 * per table, or null when there was nothing to do.
 */
export async function importLegacyPeople(hubDb: HubDatabase, dataDir: string, log: Logger): Promise<PeopleImportCounts | null> {
  const file = join(dataDir, 'people.db');
  if (!existsSync(file)) return null;
  // Read-write, not read-only: closing it checkpoints its WAL, so the renamed file is whole by itself.
  const old = new Database(file, { fileMustExist: true });
  let rows: { [K in keyof Tables]: Array<Tables[K]> };
  try {
    const has = (table: string): boolean => old.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    const all = <T>(table: string, query: string): T[] => (has(table) ? (old.prepare(query).all() as T[]) : []);
    rows = {
      users: all('users', 'SELECT id, name, display_name, role, scopes, password_hash, token_version, disabled, created_at FROM users ORDER BY created_at, id'),
      shifts: all('shifts', 'SELECT id, user AS user_id, estate, weekday, start, "end", created_at FROM shifts ORDER BY id'),
      roster_exceptions: all('roster_exceptions', 'SELECT id, user AS user_id, estate, "from" AS from_at, "to" AS to_at, kind, created_at FROM roster_exceptions ORDER BY id'),
      handovers: all('handovers', 'SELECT id, estate, from_actor, from_name, note, at, to_users FROM handovers ORDER BY id'),
      refresh_tokens: all('refresh_tokens', 'SELECT id, user AS user_id, family, hash, token_version, created_at, expires_at, revoked_at, replaced_by FROM refresh_tokens ORDER BY id'),
    };
  } finally {
    old.close();
  }
  const copied = await hubDb
    .transaction(async (trx) => {
      if ((await trx.selectFrom('users').select('id').limit(1).execute()).length > 0) return false;
      // Users first: the other tables reference them.
      for (const table of ['users', 'shifts', 'roster_exceptions', 'handovers', 'refresh_tokens'] as const) {
        const list: unknown[] = rows[table];
        for (let i = 0; i < list.length; i += BATCH) await trx.insertInto(table).values(list.slice(i, i + BATCH) as never).execute();
      }
      return true;
    })
    // Two processes copying at once on PostgreSQL (both saw no user): the loser's insert collides.
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) return false;
      throw err;
    });
  if (!copied) {
    log.warn({ file }, 'people.db left in place: the hub database already has users');
    return null;
  }
  try {
    renameSync(file, `${file}.migrated`);
  } catch (err) {
    // Another process (the CLI and the hub starting together) renamed it first: it is done.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const counts = Object.fromEntries(Object.entries(rows).map(([t, list]) => [t, list.length])) as PeopleImportCounts;
  log.info({ from: file, rows: counts, keptAs: `${file}.migrated` }, 'people and roster moved into the hub database');
  return counts;
}
