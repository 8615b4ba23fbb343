import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../hub/platform/db/index.js';
import { usePostgres } from '../../support/postgres.js';
import { describePeople, type PeopleDatabaseFactory } from './people.contract.js';
import { silent } from './support.js';

/** SQLite: a file in a temp dir; the second connection opens the same file, as the CLI does. */
const sqlite: PeopleDatabaseFactory = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-hubdb-people-'));
  const file = join(dir, 'hub.db');
  const db = await openDatabase({ file, log: silent });
  return {
    db,
    second: () => openDatabase({ file, log: silent }),
    cleanup: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

const pg = usePostgres();
let n = 0;
/** PostgreSQL: a new database per test; the second handle is another pool on it. */
const postgres: PeopleDatabaseFactory = async () => {
  const url = await pg().createDatabase(`people_${process.pid}_${++n}`);
  const db = await openDatabase({ url, log: silent });
  return { db, second: () => openDatabase({ url, log: silent }), cleanup: () => db.close() };
};

describePeople('SQLite', sqlite);
describePeople('PostgreSQL 15', postgres);
