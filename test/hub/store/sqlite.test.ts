import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { createDatabase, openDatabase } from '../../../hub/platform/db/index.js';
import { createSqliteStore } from '../../../hub/store/sqlite.js';
import { usePostgres } from '../../support/postgres.js';
import { describeStore, everyType, newestFirst } from './contract.js';

/** The events table of the hub database (no InfluxDB configured), on both engines. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rb-sqlite-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeStore('hub database, SQLite :memory:', async () => {
  const db = createDatabase({ file: ':memory:', log: silentLogger() });
  return { store: createSqliteStore({ db, log: silentLogger() }), cleanup: () => db.close() };
});

let n = 0;
describeStore('hub database, SQLite file (WAL)', async () => {
  const file = join(dir, `contract-${++n}.db`);
  const db = createDatabase({ file, log: silentLogger() });
  return {
    store: createSqliteStore({ db, log: silentLogger() }),
    cleanup: async () => {
      await db.close();
      for (const suffix of ['', '-wal', '-shm']) await rm(file + suffix, { force: true });
    },
  };
});

const pg = usePostgres();
describeStore('hub database, PostgreSQL 15', async () => {
  const db = createDatabase({ url: await pg().createDatabase(`events_${process.pid}_${++n}`), log: silentLogger() });
  return { store: createSqliteStore({ db, log: silentLogger() }), cleanup: () => db.close() };
});

describe('event store on the hub database', () => {
  it('keeps events across a reopen of the database', async () => {
    const file = join(dir, 'reopen.db');
    const events = everyType();
    const db1 = createDatabase({ file, log: silentLogger() });
    const first = createSqliteStore({ db: db1, log: silentLogger() });
    await first.start();
    await first.write(events);
    await first.stop();
    await db1.close();

    const db2 = await openDatabase({ file, log: silentLogger() });
    const second = createSqliteStore({ db: db2, log: silentLogger() });
    await second.start();
    expect(second.kind).toBe('sqlite');
    expect(await second.query({ limit: 100 })).toEqual([...events].sort(newestFirst));
    await second.stop();
    await db2.close();
  });

  it('writes in the caller\'s transaction: rolled back with it', async () => {
    const db = await openDatabase({ file: ':memory:', log: silentLogger() });
    const store = createSqliteStore({ db, log: silentLogger() });
    await store.start();
    const events = everyType();
    await expect(
      db.transaction(async (trx) => {
        await store.writeIn!(trx, events);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.query({ limit: 100 })).toEqual([]);
    await db.transaction((trx) => store.writeIn!(trx, events));
    expect(await store.query({ limit: 100 })).toHaveLength(events.length);
    await db.close();
  });

  it('rejects writes and queries before start', async () => {
    const db = createDatabase({ file: ':memory:', log: silentLogger() });
    const store = createSqliteStore({ db, log: silentLogger() });
    await expect(store.write(everyType())).rejects.toThrow(/not started/);
    await expect(store.query({ limit: 1 })).rejects.toThrow(/not started/);
    await db.close();
  });
});
