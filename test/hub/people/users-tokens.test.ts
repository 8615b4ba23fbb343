import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPeople, type People } from '../../../hub/people/index.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { loadSigningKey } from '../../../hub/people/signing-key.js';
import { parseDuration, type Tokens } from '../../../hub/people/tokens.js';
import type { Users } from '../../../hub/people/users.js';

let dir: string;
let db: HubDatabase;
let people: People;
let users: Users;
let now = Date.parse('2025-03-03T08:00:00Z');
const clock = () => now;
let tokens: Tokens;
const noRegistry = { getEstate: () => undefined, listEstates: () => [], estatesInScope: () => [] };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rb-people-'));
  db = await openDatabase({ file: join(dir, 'hub.db'), log: pino({ level: 'silent' }) });
  people = await openPeople({ db, dataDir: dir, registry: noRegistry, tokenTtl: '1h', timeZone: 'UTC', apiToken: undefined, watch: false, now: clock });
  users = people.users;
  tokens = people.tokens;
});
afterEach(async () => {
  people.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const refused = (p: Promise<unknown>, message: RegExp) => expect(p).rejects.toMatchObject({ code: 'RB_ERR_UNAUTHENTICATED', message: expect.stringMatching(message) });

describe('users', () => {
  it('adds users with validated role and scopes; names are unique; no hash leaves the store', async () => {
    const u = await users.add({ name: 'wang.li', displayName: '王丽', role: 'volunteer', scopes: ['estate:maple', 'estate:maple'], password: 'correct horse' });
    expect(u).toMatchObject({ name: 'wang.li', displayName: '王丽', role: 'volunteer', scopes: ['estate:maple'], disabled: false, tokenVersion: 1, hasPassword: true });
    expect(u.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(JSON.stringify(users.list())).not.toContain('scrypt');
    await expect(users.add({ name: 'wang.li', role: 'patrol', scopes: ['grid:g1'] })).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT' });
    await expect(users.add({ name: 'x', role: 'king' as 'admin', scopes: ['estate:a'] })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY', message: expect.stringMatching(/role/) });
    for (const scope of ['estate:Maple', 'city:x', 'estate:', 'grid:a/b']) {
      await expect(users.add({ name: `n-${scope.length}`, role: 'volunteer', scopes: [scope] })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY', message: expect.stringMatching(/scopes\.0/) });
    }
    await expect(users.add({ name: 'no-scope', role: 'volunteer', scopes: [] })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
    await expect(users.add({ name: 'short', role: 'volunteer', scopes: ['estate:a'], password: 'short' })).rejects.toMatchObject({ message: expect.stringMatching(/8 characters/) });
  });

  it('checks passwords (salted scrypt); a disabled user or a user without password cannot log in', async () => {
    const a = await users.add({ name: 'a', role: 'admin', scopes: ['street:s'], password: 'password-a' });
    const b = await users.add({ name: 'b', role: 'admin', scopes: ['street:s'], password: 'password-a' });
    await users.add({ name: 'tokens-only', role: 'volunteer', scopes: ['estate:e'] });
    const hashes = await db.db.selectFrom('users').select('password_hash').where('id', 'in', [a.id, b.id]).execute();
    expect(hashes[0]!.password_hash).not.toBe(hashes[1]!.password_hash); // per-user salt
    expect(await users.checkPassword('a', 'password-a')).toMatchObject({ id: a.id });
    expect(await users.checkPassword('a', 'password-b')).toBeNull();
    expect(await users.checkPassword('nobody', 'password-a')).toBeNull();
    expect(await users.checkPassword('tokens-only', '')).toBeNull();
    await users.disable('a');
    expect(await users.checkPassword('a', 'password-a')).toBeNull();
  });
});

describe('tokens', () => {
  it('the key is 32 random bytes in the hub database, made once and shared; a legacy jwt.key is taken over once', async () => {
    const key = await loadSigningKey(db);
    expect(key.length).toBe(32);
    expect(Buffer.from(await loadSigningKey(db)).equals(Buffer.from(key))).toBe(true);
    // Two processes making it at once end up with the one key.
    const other = await openDatabase({ file: join(dir, 'hub.db'), log: pino({ level: 'silent' }) });
    try {
      expect(Buffer.from(await loadSigningKey(other)).equals(Buffer.from(key))).toBe(true);
    } finally {
      await other.close();
    }
    // A data dir of the release before: its jwt.key becomes the key of a new database, once.
    const legacyDir = mkdtempSync(join(tmpdir(), 'rb-jwt-legacy-'));
    try {
      const legacy = randomBytes(32);
      writeFileSync(join(legacyDir, 'jwt.key'), legacy, { mode: 0o600 });
      const fresh = await openDatabase({ file: join(legacyDir, 'hub.db'), log: pino({ level: 'silent' }) });
      try {
        expect(Buffer.from(await loadSigningKey(fresh, { legacyDir })).equals(legacy)).toBe(true);
        expect(existsSync(join(legacyDir, 'jwt.key'))).toBe(false);
        expect(existsSync(join(legacyDir, 'jwt.key.migrated'))).toBe(true);
        // A key of the wrong length is an error that says where it is and what to do.
        await fresh.db.updateTable('hub_keys').set({ value: Buffer.from('short').toString('base64') }).where('name', '=', 'jwt').execute();
        await expect(loadSigningKey(fresh)).rejects.toThrow(/32 bytes.*delete the row/);
      } finally {
        await fresh.close();
      }
    } finally {
      rmSync(legacyDir, { recursive: true, force: true });
    }
  });

  it('issues HS256 tokens with sub/name/role/scopes/ver/iat/exp/iss that verify to the current user', async () => {
    const u = await users.add({ name: 'v', role: 'volunteer', scopes: ['estate:maple'] });
    const { token, expiresAt } = await tokens.issue(u);
    expect(expiresAt).toBe(Math.floor(now / 1000) * 1000 + 3_600_000);
    const [header, payload] = token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: 'HS256' });
    expect(payload).toEqual({ sub: u.id, name: 'v', role: 'volunteer', scopes: ['estate:maple'], ver: 1, iat: now / 1000, exp: now / 1000 + 3600, iss: 'red-butler' });
    expect(await tokens.verify(token)).toMatchObject({ id: u.id });
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(() => parseDuration('12 hours')).toThrow(/12 hours/);
  });

  it('refuses expired, forged, unsigned, foreign-issuer tokens and tokens of disabled users or old versions', async () => {
    const u = await users.add({ name: 'v', role: 'volunteer', scopes: ['estate:maple'], password: 'password-1' });
    const { token } = await tokens.issue(u, 60_000);
    now += 61_000;
    await refused(tokens.verify(token), /expired/);
    now -= 61_000;

    const otherKey = new Uint8Array(32).fill(7);
    const claims = { name: 'v', role: 'admin', scopes: ['street:s'], ver: 1 };
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(u.id).setIssuer('red-butler').setIssuedAt().setExpirationTime('1h').sign(otherKey);
    await refused(tokens.verify(forged), /signature/);
    const unsigned = new UnsecuredJWT(claims).setSubject(u.id).setIssuer('red-butler').setExpirationTime('1h').encode();
    await refused(tokens.verify(unsigned), /not valid/);
    const key = await loadSigningKey(db);
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(u.id).setIssuer('someone-else').setIssuedAt(now / 1000).setExpirationTime(now / 1000 + 60).sign(key);
    await refused(tokens.verify(foreign), /iss/);
    const ghost = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('01J00000000000000000000000').setIssuer('red-butler').setIssuedAt(now / 1000).setExpirationTime(now / 1000 + 60).sign(key);
    await refused(tokens.verify(ghost), /does not exist/);
    await refused(tokens.verify('garbage'), /not valid/);

    await users.setPassword(u.id, 'password-2');
    await refused(tokens.verify(token), /password change/);
    const fresh = await tokens.issue(users.get(u.id)!);
    expect(await tokens.verify(fresh.token)).toMatchObject({ tokenVersion: 2 });
    await users.disable(u.id);
    await refused(tokens.verify(fresh.token), /disabled|password change/);
  });
});
