import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAudit } from '../../../hub/audit.js';
import { importLegacyAudit, openDatabase } from '../../../hub/platform/db/index.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { silent } from './support.js';

/**
 * Upgrade, first piece (issue 16 item 8): a data dir written by the release before the hub database
 * (test/fixtures/legacy-audit-db, made by that release's code) keeps its audit log.
 */
const FIXTURE = new URL('../../fixtures/legacy-audit-db/', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'rb-upgrade-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const legacyDir = (): string => {
  const dir = join(root, `d${++n}`);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
};
const pg = usePostgres();

const OLD = [
  { seq: 5, at: 1714550640000, actor: 'anonymous', action: 'auth.login.failed', estate: null, target: 'name:zhao', detail: { ip: '10.0.0.7' } },
  { seq: 4, at: 1714550580000, actor: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', action: 'view.personal', estate: 'maple', target: 'events', detail: { count: 3 } },
  { seq: 3, at: 1714550520000, actor: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', action: 'roster.shift.add', estate: 'maple', target: 'shift:1', detail: { user: 'li', note: '红管家 夜班' } },
  { seq: 2, at: 1714550460000, actor: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', action: 'auth.login', estate: null, target: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', detail: { ip: '127.0.0.1' } },
  { seq: 1, at: 1714550400000, actor: 'cli', action: 'user.add', estate: null, target: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', detail: { name: 'wang', role: 'center', scopes: ['estate:maple'] } },
];

describe('audit.db of the previous release', () => {
  for (const engine of ['SQLite', 'PostgreSQL 15'] as const) {
    it(`is copied into the hub database on ${engine} once, with its seqs, and kept aside as audit.db.migrated`, async () => {
      const dir = legacyDir();
      const open = async () => (engine === 'SQLite' ? openDatabase({ file: join(dir, 'hub.db'), log: silent }) : openDatabase({ url: pg().url(`upgrade_${n}`), log: silent }));
      if (engine !== 'SQLite') await pg().createDatabase(`upgrade_${n}`);
      let db = await open();
      expect(await importLegacyAudit(db, dir, silent)).toBe(5);
      expect(existsSync(join(dir, 'audit.db'))).toBe(false);
      expect(existsSync(join(dir, 'audit.db.migrated'))).toBe(true);
      const audit = createAudit({ db, log: silent });
      expect((await audit.query()).items).toEqual(OLD);
      // New entries continue after the copied ones (PostgreSQL's identity sequence was moved on).
      expect((await audit.record({ actor: 'cli', action: 'user.passwd' })).seq).toBe(6);
      await db.close();

      // The old file put back by hand: left alone, nothing duplicated.
      cpSync(join(FIXTURE, 'audit.db'), join(dir, 'audit.db'));
      db = await open();
      expect(await importLegacyAudit(db, dir, silent)).toBe(0);
      expect((await createAudit({ db, log: silent }).query()).items.map((e) => e.seq)).toEqual([6, 5, 4, 3, 2, 1]);
      await db.close();
    });
  }
});

describe('a hub started on the previous release data dir', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('serves the old audit entries from hub.db and appends new ones after them', async () => {
    const dataDir = legacyDir();
    const TOKEN = 'admin-token-0123456789';
    hub = await startTestHub({ dataDir, apiToken: TOKEN });
    expect(existsSync(join(dataDir, 'hub.db'))).toBe(true);
    expect(existsSync(join(dataDir, 'audit.db'))).toBe(false);
    expect(existsSync(join(dataDir, 'audit.db.migrated'))).toBe(true);
    const read = async () => {
      const res = await fetch(`${hub!.httpUrl}/api/v1/audit?limit=10`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return (await res.json()) as { items: Array<{ seq: number; action: string }> };
    };
    expect((await read()).items).toEqual(OLD);
    const login = await fetch(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'nobody', password: 'wrong-password' }) });
    expect(login.status).toBe(401);
    expect((await read()).items[0]).toMatchObject({ seq: 6, action: 'auth.login.failed', target: 'name:nobody' });
  });
});
