import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandovers } from '../../../hub/people/handovers.js';
import { createRefreshTokens, hashToken, type RefreshTokens } from '../../../hub/people/refresh.js';
import { openPeopleDb, PEOPLE_SCHEMA_VERSION } from '../../../hub/people/schema.js';
import { createSignOuts } from '../../../hub/people/sign-outs.js';
import { createUsers, type Users } from '../../../hub/people/users.js';

const DAY = 86_400_000;
let dir: string;
let db: ReturnType<typeof openPeopleDb>;
let users: Users;
let refresh: RefreshTokens;
let now = Date.parse('2026-03-03T08:00:00Z');
const clock = () => now;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-refresh-'));
  db = openPeopleDb(dir);
  users = createUsers(db, clock);
  refresh = createRefreshTokens({ db, users, ttlMs: 30 * DAY, now: clock });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('refresh tokens', () => {
  it('are 32 random bytes base64url, stored only as a SHA-256 hash, valid for the ttl', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'], password: 'password-1' });
    const r = refresh.issue(u);
    expect(r.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(r.refreshToken, 'base64url')).toHaveLength(32);
    expect(r.refreshExpiresAt).toBe(now + 30 * DAY);
    const rows = db.prepare('SELECT * FROM refresh_tokens').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hash).toBe(hashToken(r.refreshToken));
    expect(JSON.stringify(rows)).not.toContain(r.refreshToken);
  });

  it('rotate: the old one is revoked, the new one lasts ttl from now; reuse of the old revokes the family', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'] });
    const first = refresh.issue(u);
    const other = refresh.issue(u); // another login (another phone): another family
    now += 10 * DAY;
    const second = refresh.rotate(first.refreshToken);
    expect(second.user.id).toBe(u.id);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.refreshExpiresAt).toBe(now + 30 * DAY);
    const third = refresh.rotate(second.refreshToken);
    expect(code(() => refresh.rotate(first.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    expect(code(() => refresh.rotate(third.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    // The other login is untouched.
    expect(refresh.rotate(other.refreshToken).user.id).toBe(u.id);
  });

  it('refuses unknown, malformed and expired tokens', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'] });
    const r = refresh.issue(u);
    expect(code(() => refresh.rotate('x'.repeat(43)))).toBe('RB_ERR_UNAUTHENTICATED');
    expect(code(() => refresh.rotate('not a token'))).toBe('RB_ERR_UNAUTHENTICATED');
    now += 30 * DAY;
    expect(code(() => refresh.rotate(r.refreshToken))).toBe('RB_ERR_UNAUTHENTICATED');
  });

  it('a password change or a disable revokes every refresh token of the user', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'], password: 'password-1' });
    const w = await users.add({ name: 'v2', role: 'volunteer', scopes: ['estate:e'] });
    const [a, b, c] = [refresh.issue(u), refresh.issue(u), refresh.issue(w)];
    await users.setPassword(u.id, 'password-2');
    expect(code(() => refresh.rotate(a.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    expect(code(() => refresh.rotate(b.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    const c2 = refresh.rotate(c.refreshToken);
    users.disable(w.id);
    expect(code(() => refresh.rotate(c2.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    // A token issued before the change but not revoked (a writer that forgot) is refused by its version.
    const d = refresh.issue(users.get(u.id)!);
    db.prepare('UPDATE users SET token_version = token_version + 1 WHERE id = ?').run(u.id);
    expect(code(() => refresh.rotate(d.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
  });

  it('logout revokes the family; an unknown token is not an error', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'] });
    const r = refresh.issue(u);
    const r2 = refresh.rotate(r.refreshToken);
    expect(refresh.revoke(r2.refreshToken)).toEqual({ revoked: true, user: u.id });
    expect(code(() => refresh.rotate(r2.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    expect(refresh.revoke('y'.repeat(43))).toEqual({ revoked: false });
  });
});

describe('sign-outs', () => {
  it('reports a password change made by another connection (the CLI) within the poll', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'], password: 'password-1' });
    const signOuts = createSignOuts(db, { pollMs: 20 });
    const seen: string[] = [];
    const off = signOuts.on((id) => seen.push(id));
    const cli = openPeopleDb(dir);
    await createUsers(cli, clock).setPassword(u.id, 'password-2');
    cli.close();
    await expect.poll(() => seen, { timeout: 2_000 }).toEqual([u.id]);
    signOuts.notify(u.id);
    expect(seen).toEqual([u.id, u.id]);
    off();
    signOuts.close();
  });
});

describe('people.db schema 2', () => {
  it('adds hand-overs and refresh tokens to an existing schema-1 file in place', async () => {
    db.close();
    rmSync(join(dir, 'people.db'));
    const old = new Database(join(dir, 'people.db'));
    old.exec(`CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, display_name TEXT,
        role TEXT NOT NULL CHECK (role IN ('volunteer', 'patrol', 'center', 'admin')), scopes TEXT NOT NULL, password_hash TEXT,
        token_version INTEGER NOT NULL DEFAULT 1, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
      CREATE TABLE shifts (id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(id), estate TEXT NOT NULL,
        weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7), start TEXT NOT NULL, "end" TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE roster_exceptions (id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(id), estate TEXT NOT NULL,
        "from" INTEGER NOT NULL, "to" INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('off', 'on')), created_at INTEGER NOT NULL);
      INSERT INTO users (id, name, role, scopes, created_at) VALUES ('01KA0000000000000000000000', 'old', 'volunteer', '["estate:e"]', 1);
      PRAGMA user_version = 1;`);
    old.close();
    db = openPeopleDb(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(PEOPLE_SCHEMA_VERSION);
    users = createUsers(db, clock);
    refresh = createRefreshTokens({ db, users, ttlMs: DAY, now: clock });
    const r = refresh.issue(users.find('old')!);
    expect(refresh.rotate(r.refreshToken).user.name).toBe('old');
    const handovers = createHandovers(db);
    expect(handovers.last('e')).toBeNull();
    const h = handovers.add({ estate: 'e', from: 'user:01KA0000000000000000000000', fromName: 'old', note: ' 北门锁坏了 ', at: now, to: [] });
    expect(handovers.last('e')).toEqual({ ...h, note: '北门锁坏了' });
  });
});
