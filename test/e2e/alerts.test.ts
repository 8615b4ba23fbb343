import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { createOnvifSimulator, type OnvifSimulator } from '../../devices/onvif-camera/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Issue 6, "must show", across real processes' boundaries: ISAPI simulator → gateway → MQTT → hub
 * rules → alert store → Socket.IO at the volunteer on duty, with the ONVIF camera's snapshot linked;
 * escalation to the grid's patrol on a real (short) timeout; acknowledgement stops it; the door
 * closing stamps the alert (an alarm is signed off by a person, issue 15) and the volunteer resolves
 * it with a note; a flapping door is one alert with a count.
 */

interface Envelope<T = Record<string, unknown>> {
  scope: string;
  seq: number;
  at: number;
  data: T;
}
type AlertMsg = {
  id: string; deviceName?: string; estate: string; estateName?: string; rule: string; state: string; count: number; level: number;
  snapshots: Array<{ sha256: string; url: string }>; resolvedBy?: string; resolution?: string; conditionClearedAt?: number;
};
interface Inbox {
  socket: Socket;
  got: Array<{ event: string; at: number; env: Envelope }>;
  of(event: string): Array<Envelope<AlertMsg & { alert?: AlertMsg; level?: number; reason?: string }>>;
}

const CAM = { username: 'operator', password: 'Cam-Secret-2718' };
const ESTATE_A = 'estate-a';
const ESTATE_B = 'estate-b';
const LEVEL_MS = [1_200, 2_400, 3_600];

async function listen(url: string, token: string, extra: Record<string, unknown> = {}): Promise<Inbox> {
  const socket = ioClient(url, { auth: { token, ...extra }, transports: ['websocket'], reconnection: false });
  const got: Inbox['got'] = [];
  socket.onAny((event: string, env: Envelope) => got.push({ event, at: Date.now(), env }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, got, of: (event) => got.filter((g) => g.event === event).map((g) => g.env) as never };
}

describe('alerts end to end: forced door → on-duty volunteer → escalation → acknowledgement → door closed → resolved by a person', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-alerts-e2e-'));
  let t: TestHub;
  let gateway: Gateway;
  let camera: OnvifSimulator;
  let gate: AccessGateSimulator;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const inboxes: Inbox[] = [];

  beforeAll(async () => {
    t = await startTestHub({ dataDir: join(dir, 'hub') });
    const reg = t.hub.registry;
    await reg.addStreet('street-1', '幸福街道');
    await reg.addGrid('grid-1', { street: 'street-1' });
    await reg.addGrid('grid-2', { street: 'street-1' });
    await reg.addEstate(ESTATE_A, { street: 'street-1', grid: 'grid-1', name: '枫林苑' });
    await reg.addEstate(ESTATE_B, { street: 'street-1', grid: 'grid-2', name: '桂花园' });
    const users = [
      { name: 'vol-a', role: 'volunteer', scopes: [`estate:${ESTATE_A}`] },
      { name: 'vol-a2', role: 'volunteer', scopes: [`estate:${ESTATE_A}`] },
      { name: 'vol-b', role: 'volunteer', scopes: [`estate:${ESTATE_B}`] },
      { name: 'patrol-1', role: 'patrol', scopes: ['grid:grid-1'] },
      { name: 'patrol-2', role: 'patrol', scopes: ['grid:grid-2'] },
      { name: 'center', role: 'center', scopes: ['street:street-1'] },
    ] as const;
    for (const u of users) {
      const { id, token } = await t.addUser({ name: u.name, role: u.role, scopes: [...u.scopes] });
      tokens[u.name] = token;
      ids[u.name] = id;
    }
    // vol-a is on duty around the clock; vol-a2 is not on duty.
    for (let weekday = 1; weekday <= 7; weekday++) {
      const r = await t.api('POST', '/api/v1/roster/shifts', { body: { user: ids['vol-a'], estate: ESTATE_A, weekday, start: '00:00', end: '24:00' } });
      expect(r.status).toBe(201);
    }
    // Short escalation (1.2 s / 2.4 s / 3.6 s) and a 1 s auto-resolve hold-off for the test; no quiet hours.
    const settings = await t.api('PUT', `/api/v1/estates/${ESTATE_A}/alert-settings`, {
      body: { escalation: { ackMinutes: LEVEL_MS.map((ms) => ms / 60_000), renotifyMinutes: 0 }, clearAfterS: 1, quietHours: { maxSeverity: 0 } },
    });
    expect(settings.status, JSON.stringify(settings.json)).toBe(200);

    camera = createOnvifSimulator({ ...CAM, maxPullWaitMs: 1_000, discoveryPort: false });
    await camera.start();
    const creds = await t.provision(ESTATE_A, 'gw-1');
    const raw = gatewayConfig({ creds, mqttPort: t.mqttPort, dataDir: join(dir, 'gw') });
    raw.hub = { ...(raw.hub as object), httpUrl: t.httpUrl };
    raw.devices = [
      { id: 'gate-east', driver: 'hikvision-isapi', name: '东门', options: {}, cameras: ['cam-east'] },
      { id: 'door-north', driver: 'hikvision-isapi', options: {} },
      { id: 'cam-east', driver: 'onvif', options: { address: camera.deviceUrl(), ...CAM, pullTimeoutS: 1, requestTimeoutMs: 2_000 } },
    ];
    gateway = await startGatewayInProcess(raw);
    gate = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/gate-east`, deviceName: 'gate-east', format: 'json' });
    await waitFor(() => gateway.uplink.connected(), 10_000);
  }, 60_000);

  afterAll(async () => {
    for (const i of inboxes) i.socket.close();
    gate?.stop();
    await gateway?.stop();
    await camera?.stop();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the on-duty volunteer with the snapshot, escalates to the grid patrol on time, stops when acknowledged, is stamped when the door closes and resolved by a person', async () => {
    const [volA, volA2, volB, patrol1, patrol2, center] = await Promise.all(
      ['vol-a', 'vol-a2', 'vol-b', 'patrol-1', 'patrol-2', 'center'].map((n) => listen(t.httpUrl, tokens[n]!)),
    );
    inboxes.push(volA!, volA2!, volB!, patrol1!, patrol2!, center!);

    const sentAt = Date.now();
    expect((await gate.send('forced')).status).toBe(200);
    await waitFor(() => volA!.of('alert:notify').length > 0, 5_000);
    const notify = volA!.of('alert:notify')[0]!;
    expect(notify.scope).toBe(`user:${ids['vol-a']}`);
    expect(notify.data).toMatchObject({ level: 0, reason: 'new', alert: { estate: ESTATE_A, estateName: '枫林苑', rule: 'door.forced', state: 'open', count: 1, deviceName: '东门' } });
    const alertId = notify.data.alert!.id;
    const created = volA!.of('alert:new');
    expect(created).toHaveLength(1);
    expect(created[0]!.scope).toBe(`estate:${ESTATE_A}`);
    expect(created[0]!.data.id).toBe(alertId);
    // The snapshot the camera took for the forced door is linked to the alert with its URL.
    await waitFor(() => volA!.of('alert:update').some((u) => u.data.snapshots?.length === 1), 15_000);
    const withSnap = volA!.of('alert:update').find((u) => u.data.snapshots?.length === 1)!;
    expect(withSnap.data.snapshots[0]!.url).toBe(`/api/v1/snapshots/${withSnap.data.snapshots[0]!.sha256}`);
    const img = await fetch(t.httpUrl + withSnap.data.snapshots[0]!.url, { headers: { authorization: `Bearer ${tokens['vol-a']}` } });
    expect(img.status).toBe(200);
    expect(Buffer.from(await img.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    // Level 1 (all volunteers of the estate) after 1.2 s, level 2 (grid-1's patrol) after 2.4 s.
    await waitFor(() => patrol1!.of('alert:notify').length > 0, 8_000);
    const patrolNotify = patrol1!.got.find((g) => g.event === 'alert:notify')!;
    expect(patrolNotify.env.data).toMatchObject({ level: 2, reason: 'escalated' });
    expect(patrolNotify.at - sentAt).toBeGreaterThanOrEqual(LEVEL_MS[1]! - 100);
    expect(volA2!.of('alert:notify').map((n) => n.data.level)).toEqual([1]);

    // Acknowledged: no level 3 (the street center) even well after its 3.6 s.
    const ack = await t.api('POST', `/api/v1/alerts/${alertId}/ack`, { token: tokens['vol-a']!, body: { note: '到场查看' } });
    expect(ack.status).toBe(200);
    expect(ack.json).toMatchObject({ state: 'acknowledged', acknowledgedBy: `user:${ids['vol-a']}` });
    await new Promise((r) => setTimeout(r, LEVEL_MS[2]! + 1_000 - (Date.now() - sentAt)));
    expect(center!.of('alert:notify')).toHaveLength(0);
    expect(patrol1!.of('alert:notify')).toHaveLength(1);

    // The door closes: a forced door is an alarm, so the alert is stamped (pushed at once) and stays
    // acknowledged, well past the 1 s hold-off that resolves state rules; a person signs it off.
    const closedAt = Date.now();
    expect((await gate.send('door-close')).status).toBe(200);
    await waitFor(() => volA!.of('alert:update').some((u) => u.data.id === alertId && u.data.conditionClearedAt !== undefined), 8_000);
    const stamped = volA!.of('alert:update').find((u) => u.data.id === alertId && u.data.conditionClearedAt !== undefined)!;
    expect(stamped.data).toMatchObject({ state: 'acknowledged' });
    expect(stamped.data.conditionClearedAt!).toBeGreaterThanOrEqual(closedAt - 1_000);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(volA!.of('alert:update').some((u) => u.data.id === alertId && u.data.state === 'resolved')).toBe(false);
    const resolve = await t.api('POST', `/api/v1/alerts/${alertId}/resolve`, { token: tokens['vol-a']!, body: { note: '门已关好，锁已检查' } });
    expect(resolve.status).toBe(200);
    await waitFor(() => volA!.of('alert:update').some((u) => u.data.id === alertId && u.data.state === 'resolved'), 8_000);
    const resolved = volA!.of('alert:update').find((u) => u.data.state === 'resolved')!;
    expect(resolved.data).toMatchObject({ resolvedBy: `user:${ids['vol-a']}`, resolution: '门已关好，锁已检查' });

    // Nobody outside estate A's chain saw any of it.
    for (const outsider of [volB!, patrol2!]) {
      expect(outsider.got.filter((g) => g.event.startsWith('alert:'))).toEqual([]);
      expect(outsider.got.filter((g) => JSON.stringify(g.env).includes(ESTATE_A))).toEqual([]);
    }
    // Sequences per scope increase by one with no gap or repeat.
    const estateSeqs = volA!.got.filter((g) => g.env.scope === `estate:${ESTATE_A}`).map((g) => g.env.seq);
    expect(estateSeqs).toEqual([...estateSeqs].sort((a, b) => a - b));
    expect(new Set(estateSeqs).size).toBe(estateSeqs.length);
    expect(estateSeqs[estateSeqs.length - 1]! - estateSeqs[0]!).toBe(estateSeqs.length - 1);

    // Every transition is stored with its actor.
    const detail = await t.api('GET', `/api/v1/alerts/${alertId}`, { token: tokens['center']! });
    const transitions = (detail.json.transitions as Array<{ actor: string; to: string }>).map((x) => `${x.to}:${x.actor}`);
    expect(transitions[0]).toBe('open:system');
    expect(transitions).toContain('escalated:system');
    expect(transitions.filter((x) => x === `acknowledged:user:${ids['vol-a']}`)).toHaveLength(1);
    expect(transitions[transitions.length - 1]).toBe(`resolved:user:${ids['vol-a']}`);
  }, 60_000);

  it('a flapping door (forced and closed 20 times within a minute) is one alert with count 20', async () => {
    const vol = await listen(t.httpUrl, tokens['vol-a']!);
    inboxes.push(vol);
    const door = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/door-north`, deviceName: 'door-north', format: 'json' });
    try {
      for (let i = 0; i < 20; i++) {
        expect((await door.send('forced')).status).toBe(200);
        expect((await door.send('door-close')).status).toBe(200);
      }
    } finally {
      door.stop();
    }
    await waitFor(() => vol.of('alert:update').some((u) => u.data.count === 20), 10_000);
    const news = vol.of('alert:new').filter((n) => n.data.rule === 'door.forced');
    expect(news).toHaveLength(1);
    const list = await t.api('GET', `/api/v1/alerts?estate=${ESTATE_A}&rule=door.forced&limit=50`, { token: tokens['vol-a']! });
    const mine = (list.json.items as AlertMsg[]).filter((a) => a.id === news[0]!.data.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.count).toBe(20);
    expect((list.json.items as Array<AlertMsg & { device: string }>).filter((a) => a.device === 'door-north')).toHaveLength(1);
  }, 30_000);
});
