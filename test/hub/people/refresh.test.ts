import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPeople, type People } from '../../../hub/people/index.js';
import { hashToken, type RefreshTokens } from '../../../hub/people/refresh.js';
import type { Users } from '../../../hub/people/users.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';

const DAY = 86_400_000;
const silent = pino({ level: 'silent' });
const noRegistry = { getEstate: () => undefined, listEstates: () => [], estatesInScope: () => [] };
let dir: string;
let db: HubDatabase;
let people: People;
let users: Users;
let refresh: RefreshTokens;
let now = Date.parse('2026-03-03T08:00:00Z');
const clock = () => now;
const open = (hubDb: HubDatabase, pollMs?: number) =>
  openPeople({ db: hubDb, dataDir: dir, registry: noRegistry, tokenTtl: '1h', refreshTtl: '30d', timeZone: 'UTC', apiToken: undefined, pollMs, now: clock });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rb-refresh-'));
  db = await openDatabase({ file: join(dir, 'hub.db'), log: silent });
  people = await open(db);
  users = people.users;
  refresh = people.refresh;
});
afterEach(async () => {
  people.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const code = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('refresh tokens', () => {
  it('are 32 random bytes base64url, stored only as a SHA-256 hash, valid for the ttl', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'], password: 'password-1' });
    const r = await refresh.issue(u);
    expect(r.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(r.refreshToken, 'base64url')).toHaveLength(32);
    expect(r.refreshExpiresAt).toBe(now + 30 * DAY);
    const rows = await db.db.selectFrom('refresh_tokens').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hash).toBe(hashToken(r.refreshToken));
    expect(JSON.stringify(rows)).not.toContain(r.refreshToken);
  });

  it('rotate: the old one is revoked, the new one lasts ttl from now; reuse of the old revokes the family', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'] });
    const first = await refresh.issue(u);
    const other = await refresh.issue(u); // another login (another phone): another family
    now += 10 * DAY;
    const second = await refresh.rotate(first.refreshToken);
    expect(second.user.id).toBe(u.id);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.refreshExpiresAt).toBe(now + 30 * DAY);
    const third = await refresh.rotate(second.refreshToken);
    expect(await code(refresh.rotate(first.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    expect(await code(refresh.rotate(third.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    // The other login is untouched.
    expect((await refresh.rotate(other.refreshToken)).user.id).toBe(u.id);
  });

  it('refuses unknown, malformed and expired tokens', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'] });
    const r = await refresh.issue(u);
    expect(await code(refresh.rotate('x'.repeat(43)))).toBe('RB_ERR_UNAUTHENTICATED');
    expect(await code(refresh.rotate('not a token'))).toBe('RB_ERR_UNAUTHENTICATED');
    now += 30 * DAY;
    expect(await code(refresh.rotate(r.refreshToken))).toBe('RB_ERR_UNAUTHENTICATED');
  });

  it('a password change or a disable revokes every refresh token of the user', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'], password: 'password-1' });
    const w = await users.add({ name: 'v2', role: 'volunteer', scopes: ['estate:e'] });
    const [a, b, c] = [await refresh.issue(u), await refresh.issue(u), await refresh.issue(w)];
    await users.setPassword(u.id, 'password-2');
    expect(await code(refresh.rotate(a.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    expect(await code(refresh.rotate(b.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    const c2 = await refresh.rotate(c.refreshToken);
    await users.disable(w.id);
    expect(await code(refresh.rotate(c2.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    // A token issued before the change but not revoked (a writer that forgot) is refused by its version.
    const d = await refresh.issue(users.get(u.id)!);
    await db.db.updateTable('users').set((eb) => ({ token_version: eb('token_version', '+', 1) })).where('id', '=', u.id).execute();
    expect(await code(refresh.rotate(d.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
  });

  it('logout revokes the family; an unknown token is not an error', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'] });
    const r = await refresh.issue(u);
    const r2 = await refresh.rotate(r.refreshToken);
    expect(await refresh.revoke(r2.refreshToken)).toEqual({ revoked: true, user: u.id });
    expect(await code(refresh.rotate(r2.refreshToken))).toBe('RB_ERR_TOKEN_REVOKED');
    expect(await refresh.revoke('y'.repeat(43))).toEqual({ revoked: false });
  });
});

describe('sign-outs', () => {
  it('reports a password change made by another connection (the CLI) within the poll, once', async () => {
    const u = await users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:e'], password: 'password-1' });
    const watcher = await open(db, 20);
    const seen: string[] = [];
    const off = watcher.onSignOut((id) => seen.push(id));
    const cliDb = await openDatabase({ file: join(dir, 'hub.db'), log: silent });
    const cli = await openPeople({ db: cliDb, dataDir: dir, registry: noRegistry, tokenTtl: '1h', timeZone: 'UTC', apiToken: undefined, watch: false });
    await cli.users.setPassword(u.id, 'password-2');
    cli.close();
    await cliDb.close();
    await expect.poll(() => seen, { timeout: 2_000 }).toEqual([u.id]);
    expect(watcher.users.get(u.id)).toMatchObject({ tokenVersion: 2 });
    // A change made through the watcher itself is reported at once, and not again by the poll.
    await watcher.users.disable(u.id);
    expect(seen).toEqual([u.id, u.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([u.id, u.id]);
    off();
    watcher.close();
  });
});
