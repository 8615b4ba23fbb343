import type { MqttClient } from 'mqtt';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOfLocalDay } from '../../hub/api/alerts.js';
import { topics, type EventType } from '../../protocol/index.js';
import { makeEvent, publishOutcome, sleep, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Issue 15 "must show", hub side: a forced door whose door then closes stays open with
 * `conditionClearedAt` (pushed as alert:update) until a person resolves it with a note; it then shows
 * in /alerts/history for that day with the note; its timeline lists raised, notified (level and
 * name), acknowledged, comment, assigned, condition-cleared, resolved in order; a held door still
 * resolves by itself, unless its estate sets autoResolve false. Real hub, real MQTT, real HTTP and
 * Socket.IO clients.
 */

interface Envelope {
  scope: string;
  seq: number;
  at: number;
  data: Record<string, unknown>;
}
const A = 'estate-a';
const B = 'estate-b';

function listen(url: string, token: string): Promise<{ socket: Socket; got: Array<{ event: string; env: Envelope }> }> {
  const socket = ioClient(url, { auth: { token }, transports: ['websocket'], reconnection: false });
  const got: Array<{ event: string; env: Envelope }> = [];
  socket.onAny((event: string, env: Envelope) => got.push({ event, env }));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, got }));
    socket.once('connect_error', reject);
  });
}

describe('alarms are signed off by a person: stamp, timeline, history, auto-resolve per estate', () => {
  let t: TestHub;
  let gw: MqttClient;
  const tok: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const sockets: Socket[] = [];

  const publish = async (type: EventType, data: Record<string, unknown>, device = 'gate-1') => {
    const event = makeEvent({ estate: A, gateway: 'gw-1', device, type, data });
    expect(await publishOutcome(gw, topics.event(A, 'gw-1', device), JSON.stringify(event))).toBe('acked');
    return event;
  };
  const alertOf = async (rule: string, device: string) => {
    let found: Record<string, unknown> | undefined;
    await waitFor(async () => {
      const r = await t.api('GET', `/api/v1/alerts?estate=${A}&rule=${rule}`);
      found = (r.json.items as Array<Record<string, unknown>>).find((a) => a.device === device);
      return found !== undefined;
    }, 5_000);
    expect(found, `an alert ${rule} at ${device}`).toBeDefined();
    return found!;
  };

  beforeAll(async () => {
    t = await startTestHub();
    const reg = t.hub.registry;
    await reg.addStreet('street-1');
    await reg.addGrid('grid-1', { street: 'street-1' });
    await reg.addEstate(A, { street: 'street-1', grid: 'grid-1', name: '枫林苑' });
    await reg.addEstate(B, { street: 'street-1', grid: 'grid-1', name: '桂花园' });
    for (const u of [
      { name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: [`estate:${A}`] },
      { name: 'vol-b', role: 'volunteer', scopes: [`estate:${B}`] },
      { name: 'center', displayName: '中心值班', role: 'center', scopes: ['street:street-1'] },
    ] as const) {
      const { id, token } = await t.addUser({ ...u, scopes: [...u.scopes] });
      tok[u.name] = token;
      ids[u.name] = id;
    }
    for (let weekday = 1; weekday <= 7; weekday++) {
      expect((await t.api('POST', '/api/v1/roster/shifts', { body: { user: ids['vol-a'], estate: A, weekday, start: '00:00', end: '24:00' } })).status).toBe(201);
    }
    const settings = await t.api('PUT', `/api/v1/estates/${A}/alert-settings`, { body: { clearAfterS: 1, escalation: { renotifyMinutes: 0 }, quietHours: { maxSeverity: 0 } } });
    expect(settings.status, JSON.stringify(settings.json)).toBe(200);
    gw = await t.connect(await t.provision(A, 'gw-1'));
    const status = {
      v: 1, estate: A, gateway: 'gw-1', state: 'online', ts: Date.now(), reason: 'connected',
      devices: { 'gate-1': { online: true, kind: 'access-gate', name: '北门' }, 'gate-2': { online: true, kind: 'access-gate', name: '南门' } },
    };
    expect(await publishOutcome(gw, topics.status(A, 'gw-1'), JSON.stringify(status))).toBe('acked');
  }, 30_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.stop();
  });

  it('a forced door that closes stays open, stamped and pushed, until a person resolves it; then it is in the history of that day', async () => {
    const vol = await listen(t.httpUrl, tok['vol-a']!);
    const center = await listen(t.httpUrl, tok['center']!);
    sockets.push(vol.socket, center.socket);
    const forced = await publish('door.forced', { door: 1 });
    const alert = await alertOf('door.forced', 'gate-1');
    const id = String(alert.id);
    expect(alert).toMatchObject({ estateName: '枫林苑', deviceName: '北门', state: 'open' });
    await waitFor(() => vol.got.some((g) => g.event === 'alert:new' && g.env.data.id === id));
    expect(vol.got.find((g) => g.event === 'alert:new')!.env.data).toMatchObject({ estateName: '枫林苑', deviceName: '北门' });

    expect((await t.api('POST', `/api/v1/alerts/${id}/ack`, { token: tok['vol-a']!, body: { note: '马上到' } })).status).toBe(200);
    await sleep(5);
    expect((await t.api('POST', `/api/v1/alerts/${id}/comment`, { token: tok['center']!, body: { text: '请查看监控' } })).status).toBe(200);
    await sleep(5);
    expect((await t.api('POST', `/api/v1/alerts/${id}/assign`, { token: tok['center']!, body: { user: 'vol-a' } })).status).toBe(200);
    await sleep(5);

    const closed = await publish('door.closed', { door: 1 });
    expect(await waitFor(() => vol.got.some((g) => g.event === 'alert:update' && g.env.data.id === id && g.env.data.conditionClearedAt !== undefined))).toBe(true);
    const update = vol.got.find((g) => g.event === 'alert:update' && g.env.data.conditionClearedAt !== undefined)!.env.data;
    expect(update).toMatchObject({ state: 'acknowledged', conditionClearedEvent: closed.id, estateName: '枫林苑', deviceName: '北门' });
    // Well past the 1 s hold-off that resolves state rules: still waiting for a person.
    await sleep(2_000);
    expect((await t.api('GET', `/api/v1/alerts/${id}`)).json).toMatchObject({ state: 'acknowledged', conditionClearedAt: update.conditionClearedAt });

    const resolved = await t.api('POST', `/api/v1/alerts/${id}/resolve`, { token: tok['vol-a']!, body: { note: '门锁已检查，门已关好' } });
    expect(resolved.status).toBe(200);
    expect(resolved.json).toMatchObject({ state: 'resolved', resolvedBy: `user:${ids['vol-a']}`, resolution: '门锁已检查，门已关好', conditionClearedAt: update.conditionClearedAt });

    // The detail as the center sees it: the whole timeline in order, names in full, linked events.
    const detail = (await t.api('GET', `/api/v1/alerts/${id}`, { token: tok['center']! })).json;
    const timeline = detail.timeline as Array<Record<string, unknown>>;
    expect(timeline.map((e) => e.kind)).toEqual(['raised', 'notified', 'acknowledged', 'comment', 'assigned', 'condition-cleared', 'resolved']);
    expect(timeline.map((e) => e.at)).toEqual([...timeline.map((e) => e.at as number)].sort((x, y) => x - y));
    expect(timeline[0]).toMatchObject({ kind: 'raised', actor: 'system', eventId: forced.id });
    expect(timeline[1]).toMatchObject({ kind: 'notified', level: 0, reason: 'new', actor: `user:${ids['vol-a']}`, actorName: '王小明' });
    expect(timeline[2]).toMatchObject({ kind: 'acknowledged', actor: `user:${ids['vol-a']}`, actorName: '王小明', note: '马上到' });
    expect(timeline[3]).toMatchObject({ kind: 'comment', actorName: '中心值班', text: '请查看监控' });
    expect(timeline[4]).toMatchObject({ kind: 'assigned', actorName: '中心值班', assignee: `user:${ids['vol-a']}`, text: '王小明' });
    expect(timeline[5]).toMatchObject({ kind: 'condition-cleared', eventId: closed.id, at: update.conditionClearedAt });
    expect(timeline[6]).toMatchObject({ kind: 'resolved', actorName: '王小明', note: '门锁已检查，门已关好' });
    expect(detail).toMatchObject({ estateName: '枫林苑', deviceName: '北门', repeatsOmitted: 0 });
    expect(detail.transitions).toBeDefined();
    expect(detail.comments).toBeDefined();
    const linked = detail.linkedEvents as Array<Record<string, unknown>>;
    expect(linked.map((e) => [e.id, e.type, e.deviceName])).toEqual([
      [forced.id, 'door.forced', '北门'],
      [closed.id, 'door.closed', '北门'],
    ]);

    // The volunteer's view of the same: people's names reduced, as on every alert view.
    const masked = (await t.api('GET', `/api/v1/alerts/${id}`, { token: tok['vol-a']! })).json;
    const mt = masked.timeline as Array<Record<string, unknown>>;
    expect(mt.find((e) => e.kind === 'notified')).toMatchObject({ actorName: '王**' });
    expect(mt.find((e) => e.kind === 'assigned')).toMatchObject({ text: '王**' });

    // The history of today (hub time zone) holds it with its note, for its estate's volunteer…
    const today = startOfLocalDay(Date.now(), 'Asia/Shanghai');
    const history = await t.api('GET', `/api/v1/alerts/history?from=${today.start}&to=${Date.now() + 1000}`, { token: tok['vol-a']! });
    expect(history.status, JSON.stringify(history.json)).toBe(200);
    const days = history.json.days as Array<{ day: string; counts: Record<string, number>; items: Array<Record<string, unknown>> }>;
    expect(days[0]!.day).toBe(today.date);
    expect(days[0]!.counts['door.forced']).toBe(1);
    expect(days[0]!.items.find((a) => a.id === id)).toMatchObject({ resolution: '门锁已检查，门已关好', estateName: '枫林苑', state: 'resolved' });
    expect(history.json.next).toBeNull();
    // …and not for a volunteer of another estate, who also cannot ask for it.
    const other = await t.api('GET', '/api/v1/alerts/history', { token: tok['vol-b']! });
    expect(other.status).toBe(200);
    expect(other.json.days).toEqual([]);
    expect((await t.api('GET', `/api/v1/alerts/history?estate=${A}`, { token: tok['vol-b']! })).status).toBe(403);
    expect((await t.api('GET', `/api/v1/alerts/history?from=0&to=${100 * 86_400_000}`)).json).toMatchObject({ error: { code: 'RB_ERR_BAD_QUERY' } });
  }, 30_000);

  it('a held door still resolves by itself; with autoResolve false for door.held it is stamped and waits; true for an alarm is refused', async () => {
    await publish('door.held', { door: 1, heldS: 130 }, 'gate-2');
    const held = await alertOf('door.held', 'gate-2');
    await publish('door.closed', { door: 1 }, 'gate-2');
    expect(await waitFor(async () => (await t.api('GET', `/api/v1/alerts/${String(held.id)}`)).json.state === 'resolved', 5_000)).toBe(true);
    expect((await t.api('GET', `/api/v1/alerts/${String(held.id)}`)).json).toMatchObject({ resolvedBy: 'system', resolution: 'cleared' });

    const refused = await t.api('PUT', `/api/v1/estates/${A}/alert-settings`, { body: { clearAfterS: 1, autoResolve: { 'door.forced': true } } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toContain('autoResolve.door.forced');
    const set = await t.api('PUT', `/api/v1/estates/${A}/alert-settings`, { body: { clearAfterS: 1, autoResolve: { 'door.held': false } } });
    expect(set.status).toBe(200);
    expect(set.json.autoResolve).toMatchObject({ 'door.held': false, 'door.forced': false, 'gateway.offline': true });

    await publish('door.held', { door: 2, heldS: 130 }, 'gate-2');
    // The new alert, not the first one (resolved above): wait until an open one exists.
    const openHeld = async () => ((await t.api('GET', `/api/v1/alerts?estate=${A}&rule=door.held&state=open`)).json.items as Array<Record<string, unknown>>)[0];
    expect(await waitFor(async () => (await openHeld()) !== undefined, 5_000)).toBe(true);
    const held2 = (await openHeld())!;
    await publish('door.closed', { door: 2 }, 'gate-2');
    expect(await waitFor(async () => (await t.api('GET', `/api/v1/alerts/${String(held2.id)}`)).json.conditionClearedAt !== undefined, 5_000)).toBe(true);
    await sleep(2_000);
    expect((await t.api('GET', `/api/v1/alerts/${String(held2.id)}`)).json).toMatchObject({ state: 'open' });
  }, 30_000);

  it('lists by severity, then the longest waiting first', async () => {
    await publish('barrier.fault', { lane: 1, reason: 'motor' }, 'barrier-1');
    await sleep(5);
    await publish('door.forced', { door: 3 }, 'gate-1');
    await sleep(5);
    await publish('barrier.fault', { lane: 2, reason: 'motor' }, 'barrier-1');
    await alertOf('barrier.fault', 'barrier-1');
    await waitFor(async () => ((await t.api('GET', `/api/v1/alerts?estate=${A}&state=open,acknowledged,escalated`)).json.items as unknown[]).length >= 4);
    const list = await t.api('GET', `/api/v1/alerts?estate=${A}&state=open,acknowledged,escalated&sort=severity`);
    const items = list.json.items as Array<{ severity: number; openedAt: number }>;
    expect(items.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < items.length; i++) {
      const [a, b] = [items[i - 1]!, items[i]!];
      expect(a.severity > b.severity || (a.severity === b.severity && a.openedAt <= b.openedAt), JSON.stringify([a, b])).toBe(true);
    }
    // Pages continue in the same order.
    const first = await t.api('GET', `/api/v1/alerts?estate=${A}&state=open,acknowledged,escalated&sort=severity&limit=2`);
    const rest = await t.api('GET', `/api/v1/alerts?estate=${A}&state=open,acknowledged,escalated&sort=severity&limit=50&before=${String(first.json.next)}`);
    expect([...(first.json.items as Array<{ id: string }>), ...(rest.json.items as Array<{ id: string }>)].map((a) => a.id)).toEqual(items.map((a) => (a as unknown as { id: string }).id));
  }, 20_000);
});
