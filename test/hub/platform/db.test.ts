import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, openDatabase } from '../../../hub/platform/db/index.js';

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
