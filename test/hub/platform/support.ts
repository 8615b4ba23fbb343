import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import type { Postgres } from '../../support/postgres.js';

export const silent = pino({ level: 'silent' });

/** A fresh, migrated hub database per test, and how to throw it away. */
export interface DatabaseUnderTest {
  db: HubDatabase;
  cleanup(): Promise<void>;
}
export type DatabaseFactory = () => Promise<DatabaseUnderTest>;

/** SQLite: a new file in a temp dir. */
export const sqliteFactory: DatabaseFactory = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-hubdb-'));
  const db = await openDatabase({ file: join(dir, 'hub.db'), log: silent });
  return {
    db,
    cleanup: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** PostgreSQL: a new database on the file's server (test/support/postgres.ts). */
export function postgresFactory(pg: () => Postgres, prefix: string): DatabaseFactory {
  let n = 0;
  return async () => {
    const url = await pg().createDatabase(`${prefix}_${process.pid}_${++n}`);
    const db = await openDatabase({ url, log: silent });
    return { db, cleanup: () => db.close() };
  };
}
