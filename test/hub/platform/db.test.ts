import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, openDatabase } from '../../../hub/platform/db/index.js';
import { missingPostgres, startPostgres, usePostgres } from '../../support/postgres.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'rb-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hub/platform/db on SQLite', () => {
  it('opens one file in WAL mode with foreign keys, migrated to the latest schema, idempotently', async () => {
    const file = join(dir, 'sub', 'hub.db');
    let h = await openDatabase({ file, log });
    expect(h.dialect).toBe('sqlite');
    const pragma = (name: string) => sql<Record<string, unknown>>`${sql.raw(`PRAGMA ${name}`)}`.execute(h.db);
    expect((await pragma('journal_mode')).rows[0]).toEqual({ journal_mode: 'wal' });
    expect((await pragma('foreign_keys')).rows[0]).toEqual({ foreign_keys: 1 });
    const applied = async () => (await h.db.selectFrom('kysely_migration' as never).select('name' as never).orderBy('name' as never).execute()).map((r) => (r as { name: string }).name);
    expect(await applied()).toEqual(MIGRATIONS.map(([n]) => n));
    await h.db.insertInto('audit').values({ at: 1, actor: 'cli', action: 'x' }).execute();
    await h.close();
    h = await openDatabase({ file, log });
    expect(await applied()).toEqual(MIGRATIONS.map(([n]) => n));
    expect(await h.db.selectFrom('audit').selectAll().execute()).toHaveLength(1);
    await h.close();
  });

  it('transaction() commits on resolve and rolls back on throw', async () => {
    const h = await openDatabase({ file: ':memory:', log });
    await h.transaction((trx) => trx.insertInto('audit').values({ at: 1, actor: 'a', action: 'kept' }).execute());
    await expect(
      h.transaction(async (trx) => {
        await trx.insertInto('audit').values({ at: 2, actor: 'a', action: 'dropped' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await h.db.selectFrom('audit').select('action').execute()).map((r) => r.action)).toEqual(['kept']);
    await h.close();
  });

  it('refuses a url that is not postgres://', async () => {
    await expect(openDatabase({ url: 'mysql://x', log })).rejects.toThrow(/postgres:\/\//);
  });
});

describe('hub/platform/db on a real PostgreSQL 15', () => {
  const pg = usePostgres();

  it('opens a postgres:// url, migrates once, reads BIGINT times back as numbers', async () => {
    const url = await pg().createDatabase('db_test');
    let h = await openDatabase({ url, log });
    expect(h.dialect).toBe('postgres');
    const at = Date.UTC(2030, 0, 1) + 0.0; // beyond 2^31: a BIGINT column
    const [row] = await h.db.insertInto('audit').values({ at, actor: 'cli', action: 'x' }).returning(['seq', 'at']).execute();
    expect(row).toEqual({ seq: 1, at });
    await h.close();
    h = await openDatabase({ url, log });
    const names = (await h.db.selectFrom('kysely_migration' as never).select('name' as never).orderBy('name' as never).execute()).map((r) => (r as { name: string }).name);
    expect(names).toEqual(MIGRATIONS.map(([n]) => n));
    await h.transaction(async (trx) => trx.insertInto('audit').values({ at: 2, actor: 'a', action: 'y' }).execute());
    expect(await h.db.selectFrom('audit').select('seq').orderBy('seq').execute()).toEqual([{ seq: 1 }, { seq: 2 }]);
    await h.close();
  });

  it('the harness fails, never skips, when the binaries are missing', async () => {
    await expect(startPostgres({ bin: '/nonexistent/postgresql/15/bin' })).rejects.toThrow(missingPostgres('/nonexistent/postgresql/15/bin'));
  });
});
