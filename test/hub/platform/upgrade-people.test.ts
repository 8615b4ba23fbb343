import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPeople } from '../../../hub/people/index.js';
import { hashToken } from '../../../hub/people/refresh.js';
import { importLegacyPeople, openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { hashSecret } from '../../../hub/registry-secrets.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { silent } from './support.js';

/**
 * Upgrade (issue 16 item 8): `people.db` of the release before the hub database moves into it.
 * The legacy file is written here with that release's schema (hub/people/schema.ts before this
 * change: migration 1 = users, shifts, roster exceptions; 2 = hand-overs, refresh tokens).
 */
const SCHEMA_1 = `CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, display_name TEXT,
    role TEXT NOT NULL CHECK (role IN ('volunteer', 'patrol', 'center', 'admin')), scopes TEXT NOT NULL, password_hash TEXT,
    token_version INTEGER NOT NULL DEFAULT 1, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
  CREATE TABLE shifts (id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(id), estate TEXT NOT NULL,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7), start TEXT NOT NULL, "end" TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE INDEX shifts_estate ON shifts(estate);
  CREATE TABLE roster_exceptions (id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(id), estate TEXT NOT NULL,
    "from" INTEGER NOT NULL, "to" INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('off', 'on')), created_at INTEGER NOT NULL);
  CREATE INDEX roster_exceptions_estate ON roster_exceptions(estate, "to");`;
const SCHEMA_2 = `CREATE TABLE handovers (id TEXT PRIMARY KEY, estate TEXT NOT NULL, from_actor TEXT NOT NULL, from_name TEXT NOT NULL,
    note TEXT NOT NULL, at INTEGER NOT NULL, to_users TEXT NOT NULL);
  CREATE INDEX handovers_estate ON handovers(estate, at DESC);
  CREATE TABLE refresh_tokens (id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(id), family TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE, token_version INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    revoked_at INTEGER, replaced_by TEXT);`;

const WANG = '01HZY3J8Q0V9W7K5M3N1P2R4S6';
const LI = '01HZY3J8Q0V9W7K5M3N1P2R4S7';
const REFRESH = 'A'.repeat(43);
const FAR = Date.UTC(2099, 0, 1);

/** A people.db as the previous release left it (WAL mode, `user_version` = its schema). */
async function writeLegacy(dir: string, schema: 1 | 2): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'people.db'));
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_1);
  const hash = await hashSecret('wang-password');
  db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(WANG, 'wang', '王 "老" 师', 'volunteer', '["estate:maple"]', hash, 3, 0, 1714550400000);
  db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(LI, 'li', null, 'volunteer', '["estate:maple"]', null, 2, 1, 1714550400001);
  db.prepare('INSERT INTO shifts VALUES (?, ?, ?, ?, ?, ?, ?)').run('01HZY3J8Q0V9W7K5M3N1P2R4T1', WANG, 'maple', 1, '20:00', '08:00', 1714550400002);
  db.prepare('INSERT INTO roster_exceptions VALUES (?, ?, ?, ?, ?, ?, ?)').run('01HZY3J8Q0V9W7K5M3N1P2R4T2', WANG, 'maple', 1714550400000, FAR, 'off', 1714550400003);
  if (schema === 2) {
    db.exec(SCHEMA_2);
    db.prepare('INSERT INTO handovers VALUES (?, ?, ?, ?, ?, ?, ?)').run('01HZY3J8Q0V9W7K5M3N1P2R4T3', 'maple', `user:${WANG}`, '王', '北门锁坏了', 1714550400004, JSON.stringify([{ id: LI, name: 'li', displayName: null }]));
    db.prepare('INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run('01HZY3J8Q0V9W7K5M3N1P2R4T4', WANG, 'fam1', hashToken(REFRESH), 3, 1714550400005, FAR, null, null);
  }
  db.pragma(`user_version = ${schema}`);
  db.close();
}

const root = mkdtempSync(join(tmpdir(), 'rb-upgrade-people-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const pg = usePostgres();
const registry = { getEstate: () => ({ id: 'maple', grid: null, street: null, name: null }), listEstates: () => [], estatesInScope: () => ['maple'] };

describe('people.db of the previous release', () => {
  for (const engine of ['SQLite', 'PostgreSQL 15'] as const) {
    it(`is copied into the hub database on ${engine} once (users, hashes, roster, hand-overs, refresh tokens) and kept aside`, async () => {
      const dir = join(root, `d${++n}`);
      await writeLegacy(dir, 2);
      // The previous release kept the token signing key in {dataDir}/jwt.key.
      const key = new Uint8Array(randomBytes(32));
      writeFileSync(join(dir, 'jwt.key'), key, { mode: 0o600 });
      const oldToken = await new SignJWT({ name: 'wang', role: 'volunteer', scopes: ['estate:maple'], ver: 3 })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(WANG)
        .setIssuer('red-butler')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key);
      const name = `upgrade_people_${n}`;
      if (engine !== 'SQLite') await pg().createDatabase(name);
      const open = (): Promise<HubDatabase> => (engine === 'SQLite' ? openDatabase({ file: join(dir, 'hub.db'), log: silent }) : openDatabase({ url: pg().url(name), log: silent }));
      let db = await open();
      expect(await importLegacyPeople(db, dir, silent)).toEqual({ users: 2, shifts: 1, roster_exceptions: 1, handovers: 1, refresh_tokens: 1 });
      expect(existsSync(join(dir, 'people.db'))).toBe(false);
      expect(existsSync(join(dir, 'people.db.migrated'))).toBe(true);

      const people = await openPeople({ db, dataDir: dir, registry, tokenTtl: '1h', timeZone: 'UTC', apiToken: undefined, watch: false });
      expect(people.users.list()).toEqual([
        { id: LI, name: 'li', displayName: null, role: 'volunteer', scopes: ['estate:maple'], tokenVersion: 2, disabled: true, createdAt: 1714550400001, hasPassword: false },
        { id: WANG, name: 'wang', displayName: '王 "老" 师', role: 'volunteer', scopes: ['estate:maple'], tokenVersion: 3, disabled: false, createdAt: 1714550400000, hasPassword: true },
      ]);
      // The same password, the same tokens (version and key unchanged), the same refresh token.
      expect(await people.users.checkPassword('wang', 'wang-password')).toMatchObject({ id: WANG });
      expect(await people.tokens.verify(oldToken)).toMatchObject({ id: WANG });
      // The key moved into the database, and the file is kept aside.
      expect(existsSync(join(dir, 'jwt.key'))).toBe(false);
      expect(existsSync(join(dir, 'jwt.key.migrated'))).toBe(true);
      expect(people.roster.listShifts()).toEqual([{ id: '01HZY3J8Q0V9W7K5M3N1P2R4T1', user: WANG, estate: 'maple', weekday: 1, start: '20:00', end: '08:00' }]);
      expect(people.roster.listExceptions()).toEqual([{ id: '01HZY3J8Q0V9W7K5M3N1P2R4T2', user: WANG, estate: 'maple', from: 1714550400000, to: FAR, kind: 'off' }]);
      expect(await people.handovers.last('maple')).toEqual({ id: '01HZY3J8Q0V9W7K5M3N1P2R4T3', estate: 'maple', from: `user:${WANG}`, fromName: '王', note: '北门锁坏了', at: 1714550400004, to: [{ id: LI, name: 'li', displayName: null }] });
      expect((await people.refresh.rotate(REFRESH)).user.id).toBe(WANG);
      people.close();
      await db.close();

      // Twice, or the old file put back by hand: left alone, nobody duplicated.
      db = await open();
      expect(await importLegacyPeople(db, dir, silent)).toBeNull();
      copyFileSync(join(dir, 'people.db.migrated'), join(dir, 'people.db'));
      expect(await importLegacyPeople(db, dir, silent)).toBeNull();
      expect(existsSync(join(dir, 'people.db'))).toBe(true);
      expect(await db.db.selectFrom('users').select('id').execute()).toHaveLength(2);
      await db.close();
    });
  }

  it('a schema-1 file (before hand-overs and refresh tokens) brings its users and roster', async () => {
    const dir = join(root, `d${++n}`);
    await writeLegacy(dir, 1);
    const db = await openDatabase({ file: join(dir, 'hub.db'), log: silent });
    try {
      expect(await importLegacyPeople(db, dir, silent)).toEqual({ users: 2, shifts: 1, roster_exceptions: 1, handovers: 0, refresh_tokens: 0 });
    } finally {
      await db.close();
    }
  });
});

describe('a hub started on a data dir with people.db', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('moves it into hub.db at start: the old password logs in, the old refresh token rotates', async () => {
    const dataDir = join(root, `d${++n}`);
    await writeLegacy(dataDir, 2);
    hub = await startTestHub({ dataDir });
    expect(existsSync(join(dataDir, 'people.db.migrated'))).toBe(true);
    const post = (path: string, body: unknown) => fetch(`${hub!.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const login = await post('/api/v1/auth/login', { name: 'wang', password: 'wang-password' });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ user: { id: WANG, displayName: '王 "老" 师' } });
    expect((await post('/api/v1/auth/login', { name: 'li', password: 'anything-at-all' })).status).toBe(401);
    const refreshed = await post('/api/v1/auth/refresh', { refreshToken: REFRESH });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toMatchObject({ user: { id: WANG } });
  });
});

/** The data dir the previous release wrote (test/fixtures/legacy-data-dir/README.md). */
const FIXTURE = new URL('../../fixtures/legacy-data-dir/', import.meta.url).pathname;

describe('the previous release\'s data dir (test/fixtures/legacy-data-dir)', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('a hub started on it moves people.db in: the same users, shifts, exceptions, last hand-overs and refresh tokens', async () => {
    const dataDir = join(root, `f${++n}`);
    cpSync(FIXTURE, dataDir, { recursive: true });
    type Old = Record<string, string | number | null>;
    const old = new Database(join(dataDir, 'people.db'), { fileMustExist: true });
    const users = old.prepare('SELECT * FROM users ORDER BY name').all() as Old[];
    const shifts = old.prepare('SELECT id, user, estate, weekday, start, "end" FROM shifts').all() as Old[];
    const exceptions = old.prepare('SELECT id, user, estate, "from", "to", kind FROM roster_exceptions').all() as Old[];
    const handovers = old.prepare('SELECT * FROM handovers ORDER BY at DESC, id DESC').all() as Old[];
    const refreshTokens = old.prepare('SELECT id, user AS user_id, family, hash, token_version, created_at, expires_at, revoked_at, replaced_by FROM refresh_tokens ORDER BY id').all() as Old[];
    old.close();
    expect(users.length).toBeGreaterThan(0);

    hub = await startTestHub({ dataDir });
    expect(existsSync(join(dataDir, 'people.db.migrated'))).toBe(true);
    const get = async (path: string) => {
      const res = await fetch(`${hub!.httpUrl}${path}`, { headers: { authorization: `Bearer ${hub!.apiToken!}` } });
      expect(res.status, path).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    expect((await get('/api/v1/users')).items).toEqual(
      users.map((u) => ({ id: u.id, name: u.name, displayName: u.display_name, role: u.role, scopes: JSON.parse(String(u.scopes)) as unknown, disabled: u.disabled === 1, createdAt: u.created_at })),
    );
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.id).localeCompare(String(b.id));
    expect(((await get('/api/v1/roster/shifts')).items as Array<Record<string, unknown>>).sort(byId)).toEqual(shifts.map((s) => ({ ...s })).sort(byId));
    expect(((await get('/api/v1/roster/exceptions')).items as Array<Record<string, unknown>>).sort(byId)).toEqual(exceptions.map((e) => ({ ...e })).sort(byId));
    for (const estate of new Set(handovers.map((h) => String(h.estate)))) {
      const last = handovers.find((h) => h.estate === estate)!;
      expect((await get(`/api/v1/roster/handover?estate=${estate}`)).lastHandover).toEqual({
        id: last.id, estate, from: last.from_actor, fromName: last.from_name, note: last.note, at: last.at, to: JSON.parse(String(last.to_users)) as unknown,
      });
    }
    // Refresh tokens are not served by any API: read them back from hub.db (a reader beside the hub).
    expect(refreshTokens.length).toBeGreaterThan(0);
    const db = await openDatabase({ file: join(dataDir, 'hub.db'), log: silent });
    try {
      expect(await db.db.selectFrom('refresh_tokens').selectAll().orderBy('id').execute()).toEqual(refreshTokens);
    } finally {
      await db.close();
    }
  });
});
