import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPeople } from '../../hub/people/index.js';
import { sleep, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Issue 15 "must show", hub side: sessions like an app (a refresh token with its own lifetime,
 * rotated, reuse revokes the login, a password change signs the user out everywhere — REST, refresh
 * and sockets) and the shift hand-over as an action pushed live to the next volunteer on duty.
 * Real hub, real HTTP, real Socket.IO clients.
 */

interface Envelope {
  scope: string;
  seq: number;
  at: number;
  data: Record<string, unknown>;
}
const A = 'estate-a';
const B = 'estate-b';

interface Client {
  socket: Socket;
  got: Array<{ event: string; env: Envelope }>;
  disconnected: () => boolean;
}
function listen(url: string, token: string): Promise<Client> {
  const socket = ioClient(url, { auth: { token }, transports: ['websocket'], reconnection: false });
  const got: Client['got'] = [];
  let gone = false;
  socket.onAny((event: string, env: Envelope) => got.push({ event, env }));
  socket.on('disconnect', () => (gone = true));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, got, disconnected: () => gone }));
    socket.once('connect_error', reject);
  });
}

describe('sessions: refresh tokens, signed out everywhere; hand-over pushed to the next on duty', () => {
  let t: TestHub;
  const ids: Record<string, string> = {};
  const sockets: Socket[] = [];
  const login = async (name: string, password: string) => {
    const r = await t.api('POST', '/api/v1/auth/login', { token: null, body: { name, password } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json as { token: string; expiresAt: number; refreshToken: string; refreshExpiresAt: number; user: { id: string } };
  };
  const refresh = (refreshToken: string) => t.api('POST', '/api/v1/auth/refresh', { token: null, body: { refreshToken } });

  beforeAll(async () => {
    t = await startTestHub();
    await t.hub.registry.addStreet('street-1');
    await t.hub.registry.addGrid('grid-1', { street: 'street-1' });
    await t.hub.registry.addEstate(A, { street: 'street-1', grid: 'grid-1', name: '枫林苑' });
    await t.hub.registry.addEstate(B, { street: 'street-1', grid: 'grid-1', name: '桂花园' });
    for (const u of [
      { name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: [`estate:${A}`] },
      { name: 'vol-a2', displayName: '李四', role: 'volunteer', scopes: [`estate:${A}`] },
      { name: 'vol-b', role: 'volunteer', scopes: [`estate:${B}`] },
      { name: 'phone', role: 'volunteer', scopes: [`estate:${A}`] },
    ] as const) {
      ids[u.name] = (await t.addUser({ ...u, scopes: [...u.scopes], password: `${u.name}-password` })).id;
    }
    // vol-a and vol-a2 are both on duty around the clock; vol-b on estate B.
    for (let weekday = 1; weekday <= 7; weekday++) {
      for (const [user, estate] of [['vol-a', A], ['vol-a2', A], ['vol-b', B]] as const) {
        expect((await t.api('POST', '/api/v1/roster/shifts', { body: { user: ids[user], estate, weekday, start: '00:00', end: '24:00' } })).status).toBe(201);
      }
    }
  }, 30_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.stop();
  });

  it('login → refresh with the refresh token only → the new access works; the old refresh token reused → 401 and the login is revoked', async () => {
    const before = Date.now();
    const s = await login('phone', 'phone-password');
    expect(s.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.refreshExpiresAt).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    const r1 = await refresh(s.refreshToken);
    expect(r1.status, JSON.stringify(r1.json)).toBe(200);
    const next = r1.json as typeof s;
    expect(next.refreshToken).not.toBe(s.refreshToken);
    expect(next.token).toEqual(expect.any(String));
    expect((await t.api('GET', '/api/v1/me', { token: next.token })).json).toMatchObject({ user: { name: 'phone' } });
    // The refresh with a Bearer access token still works as before.
    expect((await t.api('POST', '/api/v1/auth/refresh', { token: next.token })).status).toBe(200);

    const reused = await refresh(s.refreshToken);
    expect(reused.status).toBe(401);
    expect(reused.json).toMatchObject({ error: { code: 'RB_ERR_TOKEN_REVOKED' } });
    // The whole family went with it: the newest token of that login is refused too.
    expect((await refresh(next.refreshToken)).json).toMatchObject({ error: { code: 'RB_ERR_TOKEN_REVOKED' } });
    // Garbage and nothing at all.
    expect((await refresh('nope')).status).toBe(401);
    expect((await t.api('POST', '/api/v1/auth/refresh', { token: null })).status).toBe(401);

    // Logout revokes a login's refresh token.
    const s2 = await login('phone', 'phone-password');
    expect((await t.api('POST', '/api/v1/auth/logout', { token: null, body: { refreshToken: s2.refreshToken } })).json).toEqual({ revoked: true });
    expect((await refresh(s2.refreshToken)).status).toBe(401);
  });

  it('a password change signs the other session out: its access token 401, its refresh token 401, its socket disconnected', async () => {
    const laptop = await login('phone', 'phone-password');
    const mobile = await login('phone', 'phone-password');
    const sock = await listen(t.httpUrl, laptop.token);
    sockets.push(sock.socket);
    expect((await t.api('GET', '/api/v1/me', { token: laptop.token })).status).toBe(200);

    const changed = await t.api('POST', `/api/v1/users/${ids['phone']}/password`, { token: mobile.token, body: { password: 'phone-password-2' } });
    expect(changed.status, JSON.stringify(changed.json)).toBe(200);
    // The phone that changed it gets a new session in the answer and stays signed in.
    const fresh = changed.json as { token: string; refreshToken: string };
    expect((await t.api('GET', '/api/v1/me', { token: fresh.token })).status).toBe(200);
    expect((await refresh(fresh.refreshToken)).status).toBe(200);
    expect((await t.api('GET', '/api/v1/me', { token: mobile.token })).status).toBe(401);
    expect((await t.api('GET', '/api/v1/me', { token: laptop.token })).status).toBe(401);
    expect((await refresh(laptop.refreshToken)).status).toBe(401);
    expect(await waitFor(() => sock.disconnected(), 5_000)).toBe(true);
    expect(sock.got.map((g) => g.event)).toContain('session:revoked');
    // It cannot come back with the old token; a new login works.
    await expect(listen(t.httpUrl, laptop.token)).rejects.toMatchObject({ data: { code: 'RB_ERR_UNAUTHENTICATED' } });
    const again = await login('phone', 'phone-password-2');
    expect((await t.api('GET', '/api/v1/me', { token: again.token })).status).toBe(200);
  });

  it('a password changed by the CLI (another connection to the same hub database) drops the sockets too', async () => {
    const s = await login('phone', 'phone-password-2');
    const sock = await listen(t.httpUrl, s.token);
    sockets.push(sock.socket);
    // What `red-butler hub user passwd` does: open hub.db beside the running hub and set it.
    const db = await t.openDatabase();
    try {
      const cli = await openPeople({ db, dataDir: t.dataDir, registry: t.hub.registry, tokenTtl: '1h', timeZone: 'UTC', apiToken: undefined, watch: false });
      await cli.users.setPassword('phone', 'phone-password-3');
    } finally {
      await db.close();
    }
    expect(await waitFor(() => sock.disconnected(), 5_000)).toBe(true);
    expect((await refresh(s.refreshToken)).status).toBe(401);
  });

  it('disabling a user does the same: sockets dropped, access and refresh tokens refused', async () => {
    const { id } = await t.addUser({ name: 'leaving', role: 'volunteer', scopes: [`estate:${A}`], password: 'leaving-password' });
    const s = await login('leaving', 'leaving-password');
    const sock = await listen(t.httpUrl, s.token);
    sockets.push(sock.socket);
    expect((await t.api('POST', `/api/v1/users/${id}/disable`)).status).toBe(200);
    expect(await waitFor(() => sock.disconnected(), 5_000)).toBe(true);
    expect(sock.got.find((g) => g.event === 'session:revoked')?.env.data).toEqual({ reason: 'signed-out' });
    expect((await t.api('GET', '/api/v1/me', { token: s.token })).status).toBe(401);
    expect((await refresh(s.refreshToken)).json).toMatchObject({ error: { code: 'RB_ERR_TOKEN_REVOKED' } });
  });

  it('hand-over: the next on-duty volunteer gets handover:new live, GET returns it as lastHandover, another estate gets 403 and nothing', async () => {
    const a = await login('vol-a', 'vol-a-password');
    const a2 = await login('vol-a2', 'vol-a2-password');
    const b = await login('vol-b', 'vol-b-password');
    const [next, other] = await Promise.all([listen(t.httpUrl, a2.token), listen(t.httpUrl, b.token)]);
    sockets.push(next.socket, other.socket);

    const note = '北门锁舌松动，已报修；3号楼楼道灯不亮';
    const posted = await t.api('POST', '/api/v1/roster/handover', { token: a.token, body: { estate: A, note } });
    expect(posted.status, JSON.stringify(posted.json)).toBe(201);
    expect(posted.json).toMatchObject({
      estate: A, from: `user:${ids['vol-a']}`, fromName: '王小明', note,
      to: [{ id: ids['vol-a2'], name: 'vol-a2', displayName: '李四' }],
    });
    expect(await waitFor(() => next.got.some((g) => g.event === 'handover:new'), 5_000)).toBe(true);
    const pushed = next.got.find((g) => g.event === 'handover:new')!.env;
    expect(pushed.scope).toBe(`estate:${A}`);
    expect(pushed.data).toEqual(posted.json);

    const got = await t.api('GET', `/api/v1/roster/handover?estate=${A}`, { token: a2.token });
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ estate: A, lastHandover: posted.json });
    expect((got.json.onDuty as Array<{ name: string }>).map((u) => u.name).sort()).toEqual(['vol-a', 'vol-a2']);
    expect(got.json.alerts).toEqual([]);
    const audit = await t.api('GET', `/api/v1/audit?estate=${A}&action=roster.handover`);
    expect(audit.json.items).toHaveLength(1);

    // A volunteer of another estate can neither hand over nor read it, and got no push.
    const refused = await t.api('POST', '/api/v1/roster/handover', { token: b.token, body: { estate: A, note: 'x' } });
    expect(refused.status).toBe(403);
    expect((await t.api('GET', `/api/v1/roster/handover?estate=${A}`, { token: b.token })).status).toBe(403);
    expect((await t.api('GET', `/api/v1/roster/handover?estate=${B}`, { token: b.token })).json).toMatchObject({ lastHandover: null });
    expect((await t.api('POST', '/api/v1/roster/handover', { token: a.token, body: { estate: A, note: '   ' } })).status).toBe(400);
    expect((await t.api('POST', '/api/v1/roster/handover', { token: a.token, body: { estate: A, note: 'x'.repeat(2001) } })).status).toBe(400);
    await sleep(300);
    expect(other.got.filter((g) => g.event === 'handover:new')).toEqual([]);
    expect(next.got.filter((g) => g.event === 'handover:new')).toHaveLength(1);
  });
});
