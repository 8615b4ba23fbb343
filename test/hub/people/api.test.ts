import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { makeEvent, startTestHub, type TestHub } from '../../support/hub.js';

/** People REST over a real hub: login, refresh, me, users, roster, audit, and scoping of the read routes. */

let t: TestHub;
const tok: Record<string, string> = {};
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestHub();
  const r = t.hub.registry;
  await r.addStreet('east');
  await r.addStreet('west');
  await r.addGrid('g1', { street: 'east' });
  await r.addEstate('estate-a', { grid: 'g1', name: 'A' });
  await r.addEstate('estate-b', { street: 'east' });
  await r.addEstate('estate-w', { street: 'west' });
  for (const [name, role, scopes] of [
    ['vola', 'volunteer', ['estate:estate-a']],
    ['volb', 'volunteer', ['estate:estate-b']],
    ['pat', 'patrol', ['grid:g1']],
    ['cen', 'center', ['street:east']],
    ['adm', 'admin', ['street:east']],
  ] as const) {
    const u = await t.addUser({ name, role, scopes: [...scopes], password: `${name}-password` });
    tok[name] = u.token;
    ids[name] = u.id;
  }
  // Events of three estates straight into the store (ingest is tested elsewhere).
  const now = Date.now();
  for (const [i, estate] of ['estate-a', 'estate-b', 'estate-w', 'estate-a'].entries()) await t.hub.store.write([makeEvent({ estate, ts: now - 10_000 + i })]);
}, 30_000);
afterAll(() => t?.stop());

const call = (method: string, path: string, token: string | null, body?: unknown) => t.api(method, path, { token, body });

describe('auth', () => {
  it('login returns a token, expiry and the user; wrong passwords are refused, audited and rate limited per name + ip', async () => {
    const ok = await call('POST', '/api/v1/auth/login', null, { name: 'vola', password: 'vola-password' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ token: expect.any(String), expiresAt: expect.any(Number), user: { name: 'vola', role: 'volunteer', scopes: ['estate:estate-a'] } });
    expect(JSON.stringify(ok.json)).not.toMatch(/scrypt|password/);
    expect((await call('GET', '/api/v1/me', ok.json.token as string)).status).toBe(200);
    expect(await call('POST', '/api/v1/auth/login', null, { name: 'vola' })).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_BODY' } } });
    expect(await call('POST', '/api/v1/auth/login', null, '{"name":')).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_BODY' } } });
    for (let i = 0; i < 5; i++) expect((await call('POST', '/api/v1/auth/login', null, { name: 'volb', password: 'wrong-password' })).status).toBe(401);
    const limited = await call('POST', '/api/v1/auth/login', null, { name: 'volb', password: 'volb-password' });
    expect(limited).toMatchObject({ status: 429, json: { error: { code: 'RB_ERR_RATE_LIMITED' } } });
    // Another name from the same address is not affected.
    expect((await call('POST', '/api/v1/auth/login', null, { name: 'pat', password: 'pat-password' })).status).toBe(200);
    const audit = await call('GET', '/api/v1/audit?action=auth.login.failed&limit=10', t.apiToken!);
    expect((audit.json.items as unknown[]).length).toBe(5);
  });

  it('refresh gives a fresh token; missing, forged and expired tokens get 401 RB_ERR_UNAUTHENTICATED', async () => {
    const fresh = await call('POST', '/api/v1/auth/refresh', tok.vola!);
    expect(fresh).toMatchObject({ status: 200, json: { token: expect.any(String), user: { name: 'vola' } } });
    expect((await call('GET', '/api/v1/me', fresh.json.token as string)).status).toBe(200);
    expect(await call('POST', '/api/v1/auth/refresh', t.apiToken!)).toMatchObject({ status: 403 });
    const forged = await new SignJWT({ name: 'vola', role: 'admin', scopes: ['street:east'], ver: 1 })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(ids.vola!).setIssuer('red-butler').setIssuedAt().setExpirationTime('1h')
      .sign(new Uint8Array(32));
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ name: 'vola', role: 'volunteer', scopes: ['estate:estate-a'], ver: 1 })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(ids.vola!).setIssuer('red-butler').setIssuedAt(past).setExpirationTime(past + 60)
      .sign(await t.signingKey());
    expect(await call('GET', '/api/v1/me', expired)).toMatchObject({ status: 401, json: { error: { message: expect.stringMatching(/expired/) } } });
    for (const token of [null, forged, expired, 'not-a-token-0123456789']) {
      expect(await call('GET', '/api/v1/events', token)).toMatchObject({ status: 401, json: { error: { code: 'RB_ERR_UNAUTHENTICATED' } } });
    }
  });

  it('me lists the estates in scope with grid and street', async () => {
    expect((await call('GET', '/api/v1/me', tok.pat!)).json).toMatchObject({ user: { name: 'pat', role: 'patrol' }, estates: [{ id: 'estate-a', name: 'A', grid: 'g1', street: 'east' }] });
    expect(((await call('GET', '/api/v1/me', tok.cen!)).json.estates as Array<{ id: string }>).map((e) => e.id)).toEqual(['estate-a', 'estate-b']);
    expect(((await call('GET', '/api/v1/me', t.apiToken!)).json.estates as unknown[]).length).toBe(3);
  });
});

describe('scoped read routes', () => {
  it('events: a volunteer of A gets only A, 403 for B; a center gets its street merged newest first; counts summed', async () => {
    const a = await call('GET', '/api/v1/events', tok.vola!);
    expect((a.json.items as Array<{ estate: string }>).map((e) => e.estate)).toEqual(['estate-a', 'estate-a']);
    expect(await call('GET', '/api/v1/events?estate=estate-b', tok.vola!)).toMatchObject({ status: 403, json: { error: { code: 'RB_ERR_FORBIDDEN' } } });
    const c = await call('GET', '/api/v1/events?limit=2', tok.cen!);
    expect((c.json.items as Array<{ estate: string }>).map((e) => e.estate)).toEqual(['estate-a', 'estate-b']);
    const page2 = await call('GET', `/api/v1/events?limit=2&cursor=${c.json.nextCursor as string}`, tok.cen!);
    expect((page2.json.items as Array<{ estate: string }>).map((e) => e.estate)).toEqual(['estate-a']);
    expect(((await call('GET', '/api/v1/events', t.apiToken!)).json.items as unknown[]).length).toBe(4);
    const from = Date.now() - 60_000;
    const counts = await call('GET', `/api/v1/events/counts?from=${from}&to=${Date.now() + 1000}&interval=1h`, tok.cen!);
    expect((counts.json.items as Array<{ count: number }>).reduce((s, r) => s + r.count, 0)).toBe(3);
    expect((await call('GET', `/api/v1/events/counts?estate=estate-w&from=${from}&to=${Date.now()}&interval=1h`, tok.adm!)).status).toBe(403);
  });

  it('gateways, state and snapshots are scoped too', async () => {
    await t.provision('estate-a', 'gw-1');
    await t.provision('estate-b', 'gw-1');
    expect(((await call('GET', '/api/v1/gateways', tok.vola!)).json.items as Array<{ estate: string }>).map((g) => g.estate)).toEqual(['estate-a']);
    expect(((await call('GET', '/api/v1/gateways', t.apiToken!)).json.items as unknown[]).length).toBe(2);
    expect(await call('GET', '/api/v1/state/estates/estate-b', tok.vola!)).toMatchObject({ status: 403 });
    expect(await call('GET', '/api/v1/state/estates/estate-b/devices/gate-1', tok.vola!)).toMatchObject({ status: 403 });
    expect((await call('GET', '/api/v1/state/estates', tok.vola!)).status).toBe(200);
    expect((await call('GET', '/api/v1/state/estates', null)).status).toBe(401);
    expect(await call('GET', `/api/v1/snapshots/${'a'.repeat(64)}`, tok.vola!)).toMatchObject({ status: 404 });
  });
});

describe('users', () => {
  it('admins list and add users within their scope only; others get 403; changes are audited', async () => {
    expect(await call('GET', '/api/v1/users', tok.cen!)).toMatchObject({ status: 403, json: { error: { code: 'RB_ERR_FORBIDDEN' } } });
    const list = await call('GET', '/api/v1/users', tok.adm!);
    expect((list.json.items as Array<{ name: string }>).map((u) => u.name).sort()).toEqual(['adm', 'cen', 'pat', 'vola', 'volb']);
    const added = await call('POST', '/api/v1/users', tok.adm!, { name: 'newbie', role: 'volunteer', scopes: ['estate:estate-b'], password: 'newbie-password' });
    expect(added).toMatchObject({ status: 201, json: { user: { name: 'newbie' }, token: expect.any(String) } });
    expect(await call('POST', '/api/v1/users', tok.adm!, { name: 'outsider', role: 'volunteer', scopes: ['estate:estate-w'] })).toMatchObject({ status: 403 });
    expect(await call('POST', '/api/v1/users', tok.adm!, { name: 'streetwest', role: 'center', scopes: ['street:west'] })).toMatchObject({ status: 403 });
    expect(await call('POST', '/api/v1/users', tok.adm!, { name: 'g1patrol', role: 'patrol', scopes: ['grid:g1'] })).toMatchObject({ status: 201 });
    expect(await call('POST', '/api/v1/users', tok.adm!, { name: 'newbie', role: 'volunteer', scopes: ['estate:estate-b'] })).toMatchObject({ status: 409 });
    const newbie = (added.json.user as { id: string }).id;
    expect((await call('GET', '/api/v1/me', added.json.token as string)).status).toBe(200);
    expect(await call('POST', `/api/v1/users/${newbie}/disable`, tok.adm!)).toMatchObject({ status: 200, json: { user: { disabled: true } } });
    expect((await call('GET', '/api/v1/me', added.json.token as string)).status).toBe(401);
    const audit = await call('GET', '/api/v1/audit?action=user.add', t.apiToken!);
    expect((audit.json.items as Array<{ actor: string }>)[0]).toMatchObject({ actor: `user:${ids.adm}`, action: 'user.add' });
  });

  it('a password change refuses the tokens issued before', async () => {
    const u = await t.addUser({ name: 'changer', role: 'volunteer', scopes: ['estate:estate-a'], password: 'first-password' });
    expect(await call('POST', `/api/v1/users/${u.id}/password`, u.token, { password: 'second-password' })).toMatchObject({ status: 200 });
    expect((await call('GET', '/api/v1/me', u.token)).status).toBe(401);
    expect((await call('POST', '/api/v1/auth/login', null, { name: 'changer', password: 'second-password' })).status).toBe(200);
  });
});

describe('roster REST', () => {
  it('writes need center/admin of the estate; reads scoped; on-duty and handover answer; writes audited', async () => {
    const shift = { user: 'vola', estate: 'estate-a', weekday: 1, start: '00:00', end: '00:00' }; // Monday, 24 h
    expect(await call('POST', '/api/v1/roster/shifts', tok.vola!, shift)).toMatchObject({ status: 403 });
    expect(await call('POST', '/api/v1/roster/shifts', tok.adm!, { ...shift, estate: 'estate-w' })).toMatchObject({ status: 403 });
    expect(await call('POST', '/api/v1/roster/shifts', tok.cen!, { ...shift, start: '25:00' })).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_BODY' } } });
    const created = await call('POST', '/api/v1/roster/shifts', tok.cen!, shift);
    expect(created).toMatchObject({ status: 201, json: { user: ids.vola, estate: 'estate-a', weekday: 1 } });
    // Every day: an `on` exception covering now.
    const exc = await call('POST', '/api/v1/roster/exceptions', tok.adm!, { user: 'vola', estate: 'estate-a', from: Date.now() - 60_000, to: Date.now() + 3_600_000, kind: 'on' });
    expect(exc.status).toBe(201);
    expect((await call('GET', '/api/v1/roster/shifts', tok.vola!)).json).toMatchObject({ timeZone: 'Asia/Shanghai', items: [{ id: created.json.id }] });
    expect(((await call('GET', '/api/v1/roster/shifts', tok.volb!)).json.items as unknown[]).length).toBe(0);
    expect(await call('GET', '/api/v1/roster/on-duty?estate=estate-b', tok.vola!)).toMatchObject({ status: 403 });
    const duty = await call('GET', '/api/v1/roster/on-duty?estate=estate-a', tok.pat!);
    expect(duty.json).toMatchObject({ estate: 'estate-a', onDuty: [{ name: 'vola' }] });
    const handover = await call('GET', '/api/v1/roster/handover?estate=estate-a', tok.vola!);
    expect(handover).toMatchObject({ status: 200, json: { estate: 'estate-a', onDuty: [{ name: 'vola' }], alerts: [] } });
    expect(await call('DELETE', `/api/v1/roster/shifts/${created.json.id as string}`, tok.volb!)).toMatchObject({ status: 403 });
    expect(await call('DELETE', `/api/v1/roster/shifts/${created.json.id as string}`, tok.cen!)).toMatchObject({ status: 200 });
    expect(await call('DELETE', `/api/v1/roster/shifts/${created.json.id as string}`, tok.cen!)).toMatchObject({ status: 404 });
    expect(await call('DELETE', `/api/v1/roster/exceptions/${exc.json.id as string}`, tok.cen!)).toMatchObject({ status: 200 });
    const audit = await call('GET', '/api/v1/audit?estate=estate-a', tok.cen!);
    expect((audit.json.items as Array<{ action: string }>).map((e) => e.action)).toEqual(['roster.exception.remove', 'roster.shift.remove', 'roster.exception.add', 'roster.shift.add']);
    expect(await call('GET', '/api/v1/audit', tok.vola!)).toMatchObject({ status: 403 });
    expect(await call('GET', '/api/v1/audit?estate=estate-w', tok.cen!)).toMatchObject({ status: 403 });
  });
});
