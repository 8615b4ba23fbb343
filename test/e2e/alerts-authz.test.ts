import { SignJWT } from 'jose';
import type { MqttClient } from 'mqtt';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type EventType } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Issue 6 "must show": the authorisation matrix over REST and Socket.IO (volunteer of A vs B, patrol
 * of a grid, center of the street, expired and forged tokens), masked plates for volunteers with the
 * center's full view audited, and a client that comes back after being away — even across a hub
 * restart — getting every missed alert message replayed from SQLite, in order, once.
 */

interface Envelope {
  scope: string;
  seq: number;
  at: number;
  data: Record<string, unknown>;
}
const A = 'estate-a';
const B = 'estate-b';
const C = 'estate-c'; // another grid of the same street

function connect(url: string, auth: Record<string, unknown>): Promise<{ socket: Socket; got: Array<{ event: string; env: Envelope }> }> {
  const socket = ioClient(url, { auth, transports: ['websocket'], reconnection: false });
  const got: Array<{ event: string; env: Envelope }> = [];
  socket.onAny((event: string, env: Envelope) => got.push({ event, env }));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, got }));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

async function refusal(url: string, auth: Record<string, unknown>): Promise<string> {
  try {
    const { socket } = await connect(url, auth);
    socket.close();
    return 'connected';
  } catch (err) {
    return (err as { data?: { code?: string } }).data?.code ?? String(err);
  }
}

describe('alerts: who sees what, masking, replay after being away', () => {
  let t: TestHub;
  const gw: Record<string, MqttClient> = {};
  const tok: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const sockets: Socket[] = [];

  const publish = async (estate: string, type: EventType, data: Record<string, unknown>, device = 'gate-1') => {
    const event = makeEvent({ estate, gateway: 'gw-1', device, type, data });
    expect(await publishOutcome(gw[estate]!, topics.event(estate, 'gw-1', device), JSON.stringify(event))).toBe('acked');
    return event;
  };
  const alertOf = async (estate: string, rule: string, match: (a: Record<string, unknown>) => boolean = () => true) => {
    let found: Record<string, unknown> | undefined;
    await waitFor(async () => {
      const r = await t.api('GET', `/api/v1/alerts?estate=${estate}&rule=${rule}`);
      found = (r.json.items as Array<Record<string, unknown>>).find(match);
      return found !== undefined;
    }, 5_000);
    expect(found, `an alert ${rule} in ${estate}`).toBeDefined();
    return found!;
  };

  beforeAll(async () => {
    t = await startTestHub();
    const reg = t.hub.registry;
    await reg.addStreet('street-1');
    await reg.addGrid('grid-1', { street: 'street-1' });
    await reg.addGrid('grid-2', { street: 'street-1' });
    await reg.addEstate(A, { street: 'street-1', grid: 'grid-1' });
    await reg.addEstate(B, { street: 'street-1', grid: 'grid-1' });
    await reg.addEstate(C, { street: 'street-1', grid: 'grid-2' });
    for (const [name, role, scope] of [
      ['vol-a', 'volunteer', `estate:${A}`],
      ['vol-b', 'volunteer', `estate:${B}`],
      ['patrol-2', 'patrol', 'grid:grid-2'],
      ['center', 'center', 'street:street-1'],
    ] as const) {
      const u = await t.addUser({ name, role, scopes: [scope] });
      tok[name] = u.token;
      ids[name] = u.id;
    }
    for (const estate of [A, B, C]) gw[estate] = await t.connect(await t.provision(estate, 'gw-1'));
    // Devices are learnt from gateway status; commands need them.
    for (const estate of [A, B]) {
      const status = { v: 1, estate, gateway: 'gw-1', state: 'online', ts: Date.now(), reason: 'connected', devices: { 'gate-1': { online: true, kind: 'access-gate' } } };
      expect(await publishOutcome(gw[estate]!, topics.status(estate, 'gw-1'), JSON.stringify(status))).toBe('acked');
    }
    await publish(A, 'door.forced', { door: 1 });
    await publish(B, 'door.forced', { door: 1 });
    await publish(C, 'door.forced', { door: 1 });
    await publish(A, 'vehicle.denied', { lane: 1, plate: '苏A12345', list: 'block', reason: 'blocklist' }, 'barrier-1');
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.stop();
  });

  it('REST: a volunteer of A never lists, reads, acknowledges or commands anything of B; a patrol only its grid', async () => {
    const alertB = await alertOf(B, 'door.forced');
    const alertA = await alertOf(A, 'door.forced');
    const alertC = await alertOf(C, 'door.forced');
    const as = (who: string) => ({ token: tok[who]! });

    const listA = await t.api('GET', '/api/v1/alerts', as('vol-a'));
    expect(listA.status).toBe(200);
    expect(new Set((listA.json.items as Array<{ estate: string }>).map((a) => a.estate))).toEqual(new Set([A]));
    expect((await t.api('GET', `/api/v1/alerts?estate=${B}`, as('vol-a'))).status).toBe(403);
    expect((await t.api('GET', `/api/v1/alerts/${alertB.id}`, as('vol-a'))).status).toBe(404);
    expect((await t.api('POST', `/api/v1/alerts/${alertB.id}/ack`, { ...as('vol-a'), body: {} })).status).toBe(404);
    expect((await t.api('POST', `/api/v1/alerts/${alertB.id}/resolve`, { ...as('vol-a'), body: { note: 'x' } })).status).toBe(404);
    expect((await t.api('GET', `/api/v1/events?estate=${B}`, as('vol-a'))).status).toBe(403);
    expect((await t.api('GET', `/api/v1/state/estates/${B}`, as('vol-a'))).status).toBe(403);
    expect((await t.api('POST', '/api/v1/commands', { ...as('vol-a'), body: { estate: B, device: 'gate-1', name: 'door.open', args: {} } })).status).toBe(403);
    // What A may do, it can.
    expect((await t.api('GET', `/api/v1/alerts/${alertA.id}`, as('vol-a'))).status).toBe(200);
    const cmd = await t.api('POST', '/api/v1/commands', { ...as('vol-a'), body: { estate: A, device: 'gate-1', name: 'door.open', args: { door: 1 } } });
    expect(cmd.status).toBe(202);
    // A volunteer cannot replace the plate lists: that is the center's.
    expect((await t.api('POST', '/api/v1/commands', { ...as('vol-a'), body: { estate: A, device: 'gate-1', name: 'plates.set', args: {} } })).status).toBe(403);

    // patrol-2 covers grid-2 = estate C only.
    const patrolList = await t.api('GET', '/api/v1/alerts', as('patrol-2'));
    expect(new Set((patrolList.json.items as Array<{ estate: string }>).map((a) => a.estate))).toEqual(new Set([C]));
    expect((await t.api('GET', `/api/v1/alerts/${alertA.id}`, as('patrol-2'))).status).toBe(404);
    expect((await t.api('GET', `/api/v1/alerts/${alertC.id}`, as('patrol-2'))).status).toBe(200);
    // The center sees the whole street.
    const centerList = await t.api('GET', '/api/v1/alerts', as('center'));
    expect(new Set((centerList.json.items as Array<{ estate: string }>).map((a) => a.estate))).toEqual(new Set([A, B, C]));

    // Expired and forged tokens: refused everywhere.
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ name: 'vol-a', role: 'volunteer', scopes: [`estate:${A}`], ver: 1 })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(ids['vol-a']!).setIssuer('red-butler').setIssuedAt(past).setExpirationTime(past + 60)
      .sign(await t.signingKey());
    const forged = await new SignJWT({ name: 'vol-a', role: 'center', scopes: ['street:street-1'], ver: 1 })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(ids['vol-a']!).setIssuer('red-butler').setIssuedAt().setExpirationTime('1h')
      .sign(new Uint8Array(32).fill(7));
    for (const token of [expired, forged]) {
      expect((await t.api('GET', '/api/v1/alerts', { token })).status).toBe(401);
      expect((await t.api('POST', `/api/v1/alerts/${alertA.id}/ack`, { token, body: {} })).status).toBe(401);
      expect(await refusal(t.httpUrl, { token })).toBe('RB_ERR_UNAUTHENTICATED');
    }
    expect(await refusal(t.httpUrl, {})).toBe('RB_ERR_UNAUTHENTICATED');
  });

  it('Socket.IO: a volunteer of A receives nothing of B and cannot ask for it', async () => {
    expect(await refusal(t.httpUrl, { token: tok['vol-a'], estates: [B] })).toBe('RB_ERR_FORBIDDEN');
    const a = await connect(t.httpUrl, { token: tok['vol-a'] });
    const p2 = await connect(t.httpUrl, { token: tok['patrol-2'] });
    sockets.push(a.socket, p2.socket);
    await publish(B, 'device.tamper', { zone: 0 });
    await publish(A, 'device.tamper', { zone: 0 });
    await publish(C, 'device.tamper', { zone: 0 });
    await waitFor(() => a.got.some((g) => g.event === 'alert:new' && g.env.data.rule === 'device.tamper'), 5_000);
    await waitFor(() => p2.got.some((g) => g.event === 'alert:new' && g.env.data.rule === 'device.tamper'), 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.got.length).toBeGreaterThan(0);
    expect(a.got.every((g) => g.env.scope === `estate:${A}` || g.env.scope === `user:${ids['vol-a']}`)).toBe(true);
    expect(JSON.stringify(a.got)).not.toContain(B);
    expect(p2.got.every((g) => g.env.scope === `estate:${C}` || g.env.scope === `user:${ids['patrol-2']}`)).toBe(true);
  });

  it('volunteers see plates masked; the center sees them in full and each such read is audited', async () => {
    const forVol = await t.api('GET', `/api/v1/alerts?estate=${A}&rule=plate.blocklisted`, { token: tok['vol-a']! });
    const forCenter = await t.api('GET', `/api/v1/alerts?estate=${A}&rule=plate.blocklisted`, { token: tok['center']! });
    const volData = (forVol.json.items as Array<{ data: { plate?: string } }>)[0]!.data;
    const centerData = (forCenter.json.items as Array<{ data: { plate?: string } }>)[0]!.data;
    expect(centerData.plate).toBe('苏A12345');
    expect(volData.plate).toBe('苏A·1**45');
    const events = await t.api('GET', `/api/v1/events?estate=${A}&type=vehicle.denied`, { token: tok['vol-a']! });
    expect(JSON.stringify(events.json)).not.toContain('苏A12345');
    const audit = await t.api('GET', `/api/v1/audit?estate=${A}&action=view.personal`);
    const entries = audit.json.items as Array<{ actor: string }>;
    expect(entries.some((e) => e.actor === `user:${ids['center']}`)).toBe(true);
    expect(entries.some((e) => e.actor === `user:${ids['vol-a']}`)).toBe(false);
  });

  it('a client away (across a hub restart) gets every missed alert message replayed, in order, once', async () => {
    const first = await connect(t.httpUrl, { token: tok['vol-a'] });
    await publish(A, 'barrier.fault', { lane: 1, reason: 'motor' }, 'barrier-9');
    await waitFor(() => first.got.some((g) => g.event === 'alert:new' && g.env.data.rule === 'barrier.fault'), 5_000);
    const scope = `estate:${A}`;
    const lastSeen = Math.max(...first.got.filter((g) => g.env.scope === scope).map((g) => g.env.seq));
    first.socket.close();

    // While away: a new alert, repeats of it, an acknowledgement and a resolution by others.
    await publish(A, 'barrier.fault', { lane: 2, reason: 'motor' }, 'barrier-9');
    await publish(A, 'barrier.fault', { lane: 2, reason: 'motor again' }, 'barrier-9');
    const missed = await alertOf(A, 'barrier.fault', (a) => a.count === 2 && (a.data as { lane?: number }).lane === 2);
    expect((await t.api('POST', `/api/v1/alerts/${missed.id}/ack`, { token: tok['center']!, body: {} })).status).toBe(200);
    expect((await t.api('POST', `/api/v1/alerts/${missed.id}/resolve`, { token: tok['center']!, body: { note: '已修复' } })).status).toBe(200);
    // The hub itself restarts meanwhile: nothing of the replay lives in its memory.
    const dataDir = t.dataDir;
    const ports = { httpPort: Number(new URL(t.httpUrl).port), mqttPort: t.mqttPort };
    await t.hub.stop();
    const t2 = await startTestHub({ dataDir, ...ports });
    try {
      // The log keeps messages for days, not minutes: "5 minutes away" is well inside it.
      expect(await t2.hub.alertStore.get(String(missed.id))).toBeDefined();
      const back = await connect(t2.httpUrl, { token: tok['vol-a'], since: { [scope]: lastSeen } });
      sockets.push(back.socket);
      await waitFor(() => back.got.some((g) => g.event === 'alert:update' && g.env.data.id === missed.id && g.env.data.state === 'resolved'), 5_000);
      const replayed = back.got.filter((g) => g.env.scope === scope);
      const seqs = replayed.map((g) => g.env.seq);
      expect(seqs[0]).toBe(lastSeen + 1);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      const forMissed = replayed.filter((g) => g.env.data.id === missed.id).map((g) => `${g.event}:${g.env.data.state}:${g.env.data.count}`);
      expect(forMissed).toEqual(['alert:new:open:1', 'alert:update:open:2', 'alert:update:acknowledged:2', 'alert:update:resolved:2']);
      // Replayed data is masked for the volunteer, as live data is: who acknowledged shows reduced.
      expect(JSON.stringify(replayed)).not.toContain('苏A12345');
      const acked = replayed.find((g) => g.env.data.id === missed.id && g.env.data.state === 'acknowledged')!;
      expect(acked.env.data.acknowledgedByName).toBe('c***');
      const full = await t2.api('GET', `/api/v1/alerts/${String(missed.id)}`, { token: tok['center']! });
      expect(full.json.acknowledgedByName).toBe('center');
    } finally {
      await t2.stop();
    }
  }, 60_000);
});
