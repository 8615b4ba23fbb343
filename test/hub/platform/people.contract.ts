import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPeople, type People } from '../../../hub/people/index.js';
import { hashToken } from '../../../hub/people/refresh.js';
import { covers } from '../../../hub/people/scopes.js';
import type { HubDatabase } from '../../../hub/platform/db/index.js';
import type { EstateRecord } from '../../../hub/registry.js';

/**
 * The people repositories' contract (STYLE.md §4: users, tokens, refresh tokens, roster, hand-overs,
 * sign-outs), written once and run on every engine of the hub database. `second()` opens another
 * connection (pool) to the same database: what the admin CLI, another process, does.
 */
export interface PeopleDatabaseUnderTest {
  db: HubDatabase;
  second(): Promise<HubDatabase>;
  cleanup(): Promise<void>;
}
export type PeopleDatabaseFactory = () => Promise<PeopleDatabaseUnderTest>;

const ESTATES: EstateRecord[] = [
  { id: 'maple', grid: 'g1', street: 'east', name: 'Maple' },
  { id: 'elm', grid: 'g2', street: 'east', name: null },
];
const registry = {
  getEstate: (id: string) => ESTATES.find((e) => e.id === id),
  listEstates: () => ESTATES,
  estatesInScope: (scopes: readonly string[]) => ESTATES.filter((e) => covers(scopes, e)).map((e) => e.id),
};
/** 2025-03-03 is a Monday; the roster runs in UTC here. */
const MONDAY_9 = Date.parse('2025-03-03T09:00:00Z');

export function describePeople(engine: string, factory: PeopleDatabaseFactory): void {
  describe(`people repositories on ${engine}`, () => {
    let t: PeopleDatabaseUnderTest;
    let dir: string;
    let people: People;
    const opened: Array<{ close(): void | Promise<void> }> = [];
    let clock = MONDAY_9;
    const make = async (db: HubDatabase, pollMs = 20): Promise<People> => {
      const p = createPeople({ db, dataDir: dir, registry, tokenTtl: '1h', timeZone: 'UTC', apiToken: undefined, pollMs, now: () => clock });
      await p.start();
      opened.push(p);
      return p;
    };
    /** Another process on the same database (the CLI). */
    const other = async (): Promise<People> => {
      const db = await t.second();
      opened.push(db);
      return make(db);
    };
    beforeEach(async () => {
      clock = MONDAY_9;
      dir = mkdtempSync(join(tmpdir(), 'rb-people-contract-'));
      t = await factory();
      people = await make(t.db);
    });
    afterEach(async () => {
      for (const o of opened.splice(0).reverse()) await o.close();
      await t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('users: add, list by name, find by id or name, unique names, no hash out; values round-trip (CJK, large times)', async () => {
      clock = Date.UTC(2031, 0, 1); // past 2^32 ms: a BIGINT, read back as a number
      const w = await people.users.add({ name: 'wang.li', displayName: '王丽 "q"', role: 'volunteer', scopes: ['estate:maple', 'estate:maple'], password: 'correct horse' });
      expect(w).toEqual({ id: expect.stringMatching(/^[0-9A-Z]{26}$/), name: 'wang.li', displayName: '王丽 "q"', role: 'volunteer', scopes: ['estate:maple'], tokenVersion: 1, disabled: false, createdAt: clock, hasPassword: true });
      const a = await people.users.add({ name: 'admin', role: 'admin', scopes: ['street:east'] });
      expect(a.hasPassword).toBe(false);
      expect(people.users.list().map((u) => u.name)).toEqual(['admin', 'wang.li']);
      expect(people.users.get(w.id)).toEqual(w);
      expect(people.users.find('wang.li')).toEqual(w);
      expect(await people.users.fetch('wang.li')).toEqual(w);
      expect(await people.users.fetch('nobody')).toBeUndefined();
      expect(JSON.stringify(people.users.list())).not.toContain('scrypt');
      await expect(people.users.add({ name: 'wang.li', role: 'patrol', scopes: ['grid:g1'] })).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT' });
      // Two adds of one name at once (the second passes the first check while scrypt runs): one wins.
      const race = await Promise.allSettled([0, 1].map(() => people.users.add({ name: 'twin', role: 'volunteer', scopes: ['estate:elm'], password: 'password-x' })));
      expect(race.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(race.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'RB_ERR_CONFLICT' } });
      // A fresh start reads the same users.
      const again = await make(t.db);
      expect(again.users.list()).toEqual(people.users.list());
    });

    it('passwords: salted hashes, checkPassword; setPassword and disable bump the version and sign out', async () => {
      const a = await people.users.add({ name: 'a', role: 'admin', scopes: ['street:east'], password: 'password-a' });
      const b = await people.users.add({ name: 'b', role: 'admin', scopes: ['street:east'], password: 'password-a' });
      const hashes = await t.db.db.selectFrom('users').select('password_hash').where('id', 'in', [a.id, b.id]).execute();
      expect(hashes[0]!.password_hash).not.toBe(hashes[1]!.password_hash);
      expect(await people.users.checkPassword('a', 'password-a')).toMatchObject({ id: a.id });
      expect(await people.users.checkPassword('a', 'password-b')).toBeNull();
      expect(await people.users.checkPassword('nobody', 'password-a')).toBeNull();
      const seen: string[] = [];
      people.onSignOut((id) => seen.push(id));
      expect(await people.users.setPassword('a', 'password-new')).toMatchObject({ id: a.id, tokenVersion: 2 });
      expect(seen).toEqual([a.id]); // at once, from this process
      expect(await people.users.checkPassword('a', 'password-a')).toBeNull();
      expect(await people.users.checkPassword('a', 'password-new')).toMatchObject({ tokenVersion: 2 });
      expect(await people.users.disable(b.id)).toMatchObject({ disabled: true, tokenVersion: 2 });
      expect(await people.users.disable(b.id)).toMatchObject({ disabled: true, tokenVersion: 2 }); // idempotent
      expect(people.users.get(b.id)).toMatchObject({ disabled: true });
      expect(await people.users.checkPassword('b', 'password-a')).toBeNull();
      await expect(people.users.setPassword('ghost', 'password-x')).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_USER' });
      await expect(people.users.setPassword('a', 'short')).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
    });

    it('tokens: a password change by another process refuses the old token at once; a sign-out reaches this one within the poll', async () => {
      const u = await people.users.add({ name: 'v', role: 'volunteer', scopes: ['estate:maple'], password: 'password-1' });
      const { token } = await people.tokens.issue(u);
      expect(await people.principals.fromToken(token)).toMatchObject({ id: u.id, estates: new Set(['maple']), kind: 'user' });
      const seen: string[] = [];
      people.onSignOut((id) => seen.push(id));
      const cli = await other();
      // The other process found the user: it reads the database, not our copy.
      expect(cli.users.find('v')).toMatchObject({ id: u.id });
      await cli.users.setPassword('v', 'password-2');
      await expect(people.tokens.verify(token)).rejects.toMatchObject({ code: 'RB_ERR_UNAUTHENTICATED', message: expect.stringMatching(/password change/) });
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([u.id]);
      // The copy was updated before the listener ran; the change is reported once.
      expect(people.users.get(u.id)).toMatchObject({ tokenVersion: 2 });
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual([u.id]);
      // A user the other process adds is in our copy within the poll, and its token works at once.
      const added = await cli.users.add({ name: 'late', role: 'patrol', scopes: ['grid:g1'] });
      expect(await people.tokens.verify((await cli.tokens.issue(added)).token)).toMatchObject({ name: 'late' });
      await expect.poll(() => people.users.find('late')?.id, { timeout: 5_000 }).toBe(added.id);
      await cli.users.disable('late');
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([u.id, added.id]);
    });

    it('refresh tokens: only hashes stored; rotate; reuse revokes the family; expiry; logout', async () => {
      const u = await people.users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:elm'] });
      const first = await people.refresh.issue(u);
      expect(first.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(first.refreshExpiresAt).toBe(clock + 30 * 86_400_000);
      const rows = await t.db.db.selectFrom('refresh_tokens').selectAll().execute();
      expect(rows.map((r) => r.hash)).toEqual([hashToken(first.refreshToken)]);
      expect(JSON.stringify(rows)).not.toContain(first.refreshToken);
      const otherLogin = await people.refresh.issue(u);
      clock += 10 * 86_400_000;
      const second = await people.refresh.rotate(first.refreshToken);
      expect(second).toMatchObject({ user: { id: u.id }, refreshExpiresAt: clock + 30 * 86_400_000 });
      const third = await people.refresh.rotate(second.refreshToken);
      await expect(people.refresh.rotate(first.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED' });
      await expect(people.refresh.rotate(third.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED' });
      expect((await people.refresh.rotate(otherLogin.refreshToken)).user.id).toBe(u.id);
      await expect(people.refresh.rotate('x'.repeat(43))).rejects.toMatchObject({ code: 'RB_ERR_UNAUTHENTICATED', message: expect.stringMatching(/unknown/) });
      await expect(people.refresh.rotate('not a token')).rejects.toMatchObject({ code: 'RB_ERR_UNAUTHENTICATED' });
      const late = await people.refresh.issue(u);
      clock += 30 * 86_400_000;
      await expect(people.refresh.rotate(late.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
      const fresh = await people.refresh.issue(u);
      expect(await people.refresh.revoke(fresh.refreshToken)).toEqual({ revoked: true, user: u.id });
      await expect(people.refresh.rotate(fresh.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED' });
      expect(await people.refresh.revoke('y'.repeat(43))).toEqual({ revoked: false });
    });

    it('refresh tokens: of two rotations of one token at once exactly one succeeds, and the family is revoked', async () => {
      const u = await people.users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:elm'] });
      // Two instances on one handle: on PostgreSQL two pooled connections, really concurrent; SQLite
      // has one writer, and a second connection in this process would wait for the lock synchronously,
      // blocking the event loop the first one needs to commit.
      const cli = await make(t.db);
      const r = await people.refresh.issue(u);
      const results = await Promise.allSettled([people.refresh.rotate(r.refreshToken), cli.refresh.rotate(r.refreshToken)]);
      const ok = results.filter((x) => x.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      expect(results.find((x) => x.status === 'rejected')).toMatchObject({ reason: { code: 'RB_ERR_TOKEN_REVOKED' } });
      // The reuse revoked the family, the winner's successor too.
      const winner = (ok[0] as PromiseFulfilledResult<{ refreshToken: string }>).value;
      await expect(people.refresh.rotate(winner.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED' });
    });

    it('refresh tokens: a password change, a disable, or a version bump nobody revoked for ends them', async () => {
      const u = await people.users.add({ name: 'v1', role: 'volunteer', scopes: ['estate:elm'], password: 'password-1' });
      const w = await people.users.add({ name: 'v2', role: 'volunteer', scopes: ['estate:elm'] });
      const [a, c] = [await people.refresh.issue(u), await people.refresh.issue(w)];
      await people.users.setPassword(u.id, 'password-2');
      await expect(people.refresh.rotate(a.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED' });
      const c2 = await people.refresh.rotate(c.refreshToken);
      await people.users.disable(w.id);
      await expect(people.refresh.rotate(c2.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED' });
      const d = await people.refresh.issue(people.users.get(u.id)!);
      await t.db.db.updateTable('users').set((eb) => ({ token_version: eb('token_version', '+', 1) })).where('id', '=', u.id).execute();
      await expect(people.refresh.rotate(d.refreshToken)).rejects.toMatchObject({ code: 'RB_ERR_TOKEN_REVOKED', message: expect.stringMatching(/disabled or changed/) });
    });

    it('roster: shifts and exceptions stored, listed, removed; on duty, next on duty and recipients from them', async () => {
      const vol1 = await people.users.add({ name: 'vol1', role: 'volunteer', scopes: ['estate:maple'] });
      const vol2 = await people.users.add({ name: 'vol2', role: 'volunteer', scopes: ['estate:maple'] });
      await people.users.add({ name: 'patrol1', role: 'patrol', scopes: ['grid:g1'] });
      await people.users.add({ name: 'center1', role: 'center', scopes: ['street:east'] });
      const { roster } = people;
      const s1 = await roster.addShift({ user: 'vol1', estate: 'maple', weekday: 1, start: '08:00', end: '20:00' });
      expect(s1).toEqual({ id: expect.any(String), user: vol1.id, estate: 'maple', weekday: 1, start: '08:00', end: '20:00' });
      const s2 = await roster.addShift({ user: vol2.id, estate: 'maple', weekday: 1, start: '20:00', end: '08:00' });
      expect(roster.listShifts({ estates: ['maple'] })).toEqual([s1, s2]);
      expect(roster.listShifts({ user: vol2.id })).toEqual([s2]);
      const names = (list: Array<{ name: string }>) => list.map((u) => u.name);
      expect(names(roster.onDuty('maple', MONDAY_9))).toEqual(['vol1']);
      expect(names(roster.onDuty('maple', Date.parse('2025-03-04T07:59:00Z')))).toEqual(['vol2']);
      const from = Date.parse('2025-03-03T10:00:00Z');
      const to = Date.UTC(2031, 0, 1);
      const off = await roster.addException({ user: 'vol1', estate: 'maple', from, to, kind: 'off' });
      expect(off).toEqual({ id: expect.any(String), user: vol1.id, estate: 'maple', from, to, kind: 'off' });
      const on = await roster.addException({ user: 'vol2', estate: 'maple', from, to: from + 3_600_000, kind: 'on' });
      expect(roster.listExceptions({ estates: ['maple'] })).toEqual([off, on]);
      expect(roster.listExceptions({ after: from + 3_600_000 })).toEqual([off]);
      expect(names(roster.onDuty('maple', from + 60_000))).toEqual(['vol2']);
      const noon = Date.parse('2025-03-03T12:00:00Z'); // vol1 off, vol2's `on` over, its shift at 20:00
      expect(roster.onDuty('maple', noon)).toEqual([]);
      expect(roster.nextOnDuty('maple', noon)).toEqual({ at: Date.parse('2025-03-03T20:00:00Z'), users: [expect.objectContaining({ name: 'vol2' })] });
      expect(names(roster.recipients(0, 'maple', from + 60_000))).toEqual(['vol2']);
      expect(names(roster.recipients(1, 'maple')).sort()).toEqual(['vol1', 'vol2']);
      expect(names(roster.recipients(2, 'maple'))).toEqual(['patrol1']);
      expect(names(roster.recipients(3, 'maple'))).toEqual(['center1']);
      expect(roster.recipients(2, 'elm')).toEqual([]);
      await expect(roster.addShift({ user: 'nobody', estate: 'maple', weekday: 1, start: '08:00', end: '09:00' })).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_USER' });
      await expect(roster.addShift({ user: 'patrol1', estate: 'maple', weekday: 1, start: '08:00', end: '09:00' })).rejects.toThrow(/for volunteers/);
      await expect(roster.addShift({ user: 'vol1', estate: 'elm', weekday: 1, start: '08:00', end: '09:00' })).rejects.toThrow(/do not cover estate elm/);
      await expect(roster.addException({ user: 'vol1', estate: 'maple', from: 10, to: 5, kind: 'off' })).rejects.toThrow(/to: must be after from/);
      // Another process (another hub node) sees the same roster, and our removals within the poll.
      const cli = await other();
      expect(cli.roster.listShifts()).toEqual([s1, s2]);
      expect(await roster.removeShift(s1.id)).toEqual(s1);
      expect(await roster.removeShift(s1.id)).toBeUndefined();
      expect(await roster.removeException(off.id)).toEqual(off);
      expect(roster.listShifts()).toEqual([s2]);
      await expect.poll(() => cli.roster.listShifts(), { timeout: 5_000 }).toEqual([s2]);
      await expect.poll(() => cli.roster.listExceptions(), { timeout: 5_000 }).toEqual([on]);
    });

    it('hand-overs: stored with who they went to; the latest per estate', async () => {
      expect(await people.handovers.last('maple')).toBeNull();
      const to = [{ id: '01KA0000000000000000000000', name: 'vol2', displayName: '李 "二"' }];
      const h1 = await people.handovers.add({ estate: 'maple', from: 'user:x', fromName: 'x', note: ' 北门锁坏了 ', at: MONDAY_9, to });
      expect(h1).toEqual({ id: expect.any(String), estate: 'maple', from: 'user:x', fromName: 'x', note: '北门锁坏了', at: MONDAY_9, to });
      const h2 = await people.handovers.add({ estate: 'maple', from: 'system', fromName: 'system', note: 'later', at: MONDAY_9 + 1, to: [] });
      await people.handovers.add({ estate: 'elm', from: 'system', fromName: 'system', note: 'elsewhere', at: MONDAY_9 + 2, to: [] });
      expect(await people.handovers.last('maple')).toEqual(h2);
      await expect(people.handovers.add({ estate: 'maple', from: 'system', fromName: 'system', note: '   ', at: MONDAY_9, to: [] })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
      await expect((await other()).handovers.last('elm')).resolves.toMatchObject({ note: 'elsewhere' });
    });
  });
}
