import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { createSqliteStore } from '../../../hub/store/sqlite.js';
import { describeStore, everyType, newestFirst } from './contract.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rb-sqlite-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeStore('sqlite :memory:', async () => ({
  store: createSqliteStore({ file: ':memory:', log: silentLogger() }),
  cleanup: async () => {},
}));

let n = 0;
describeStore('sqlite file (WAL)', async () => {
  const file = join(dir, `contract-${++n}.db`);
  return {
    store: createSqliteStore({ file, log: silentLogger() }),
    cleanup: async () => {
      for (const suffix of ['', '-wal', '-shm']) await rm(file + suffix, { force: true });
    },
  };
});

describe('sqlite event store', () => {
  it('keeps events across a reopen and migrates only once', async () => {
    const file = join(dir, 'reopen.db');
    const events = everyType();
    const first = createSqliteStore({ file, log: silentLogger() });
    await first.start();
    await first.write(events);
    await first.stop();

    const second = createSqliteStore({ file, log: silentLogger() });
    await second.start();
    expect(await second.query({ limit: 100 })).toEqual([...events].sort(newestFirst));
    await second.stop();

    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(1);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('refuses a database written by a newer schema', async () => {
    const file = join(dir, 'newer.db');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    const store = createSqliteStore({ file, log: silentLogger() });
    await expect(store.start()).rejects.toThrow(/schema version 99 is newer/);
  });

  it('rejects writes and queries before start', async () => {
    const store = createSqliteStore({ file: ':memory:', log: silentLogger() });
    await expect(store.write(everyType())).rejects.toThrow(/not started/);
    await expect(store.query({ limit: 1 })).rejects.toThrow(/not started/);
  });
});
