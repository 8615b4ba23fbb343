import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { createBarrierGateSimulator, type BarrierGateSimulator } from '../../devices/barrier-gate/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import type { StateChange } from '../../hub/state/types.js';
import { topics } from '../../protocol/index.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { endClient, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Live state end to end: a real hub, a real gateway with an ISAPI access gate and an ANPR barrier
 * driven by their simulators over HTTP, a real Socket.IO client, and the REST API over real HTTP.
 */
const ESTATE = 'oak-court';
const dir = mkdtempSync(join(tmpdir(), 'rb-state-'));
let hub: TestHub;
let gateway: Gateway;
let socket: Socket;
let gate: AccessGateSimulator;
let barrier: BarrierGateSimulator;
const pushes: StateChange[] = [];

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(hub.httpUrl + path, { signal: AbortSignal.timeout(5_000), headers: { authorization: `Bearer ${hub.apiToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
type Estate = {
  gateways: Array<{ gateway: string; online: boolean; state: string; reason?: string; version?: string; outbox?: { pressure: boolean } }>;
  devices: Array<{ device: string; online: boolean | null }>;
  doors: Array<{ device: string; door: number; state: string }>;
  barriers: Array<{ device: string; lane: number; state: string }>;
  occupancy: { count: number; entered: number };
};
const estate = async (): Promise<Estate> => (await get(`/api/v1/state/estates/${ESTATE}`)).body as unknown as Estate;

beforeAll(async () => {
  hub = await startTestHub();
  const creds = await hub.provision(ESTATE, 'gw-1');
  const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw-1') });
  raw.devices = [
    { id: 'gate-1', driver: 'hikvision-isapi', options: {} },
    { id: 'barrier-1', driver: 'hikvision-anpr', options: { lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] } },
  ];
  socket = ioClient(hub.httpUrl, { auth: { estates: [ESTATE], token: hub.apiToken }, transports: ['websocket'] });
  socket.on('device:state', (m: { data: StateChange }) => void pushes.push(m.data));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  gateway = await startGatewayInProcess(raw);
  const base = `http://127.0.0.1:${gateway.pushAddress().port}`;
  gate = createAccessGateSimulator({ target: `${base}/isapi/gate-1`, deviceName: 'gate-1' });
  barrier = createBarrierGateSimulator({ target: `${base}/anpr/barrier-1`, autoOpen: false });
});

afterAll(async () => {
  gate?.stop();
  await barrier?.close().catch(() => undefined);
  socket?.close();
  await gateway?.stop().catch(() => undefined);
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('live state over REST and Socket.IO', () => {
  it('shows the connected gateway with its status', async () => {
    expect(await waitFor(async () => (await get(`/api/v1/state/estates/${ESTATE}`)).status === 200 && (await estate()).gateways[0]?.online === true)).toBe(true);
    const gw = (await estate()).gateways[0]!;
    expect(gw).toMatchObject({ gateway: 'gw-1', state: 'online', outbox: { pressure: false } });
    expect(gw.version).toEqual(expect.any(String));
  });

  it('door forced: REST shows forced and a state push arrives', async () => {
    expect((await gate.send('forced')).status).toBe(200);
    expect(await waitFor(async () => (await estate()).doors.some((d) => d.device === 'gate-1' && d.door === 1 && d.state === 'forced'))).toBe(true);
    expect(await waitFor(() => pushes.some((p) => p.kind === 'door' && p.key === 'gate-1/1' && (p.value as { state: string }).state === 'forced'))).toBe(true);
    const push = pushes.find((p) => p.kind === 'door')!;
    expect(push).toMatchObject({ estate: ESTATE, kind: 'door', key: 'gate-1/1', ts: expect.any(Number) });
    expect((await get(`/api/v1/state/estates/${ESTATE}/devices/gate-1`)).body).toMatchObject({
      estate: ESTATE,
      device: 'gate-1',
      gateway: 'gw-1',
      doors: [{ door: 1, state: 'forced' }],
    });
  });

  it('a vehicle enters: occupancy 1, in the summary too', async () => {
    expect((await barrier.send('allow-in')).status).toBe(200);
    expect(await waitFor(async () => (await estate()).occupancy.count === 1)).toBe(true);
    const { body } = await get('/api/v1/state/estates');
    expect(body.items).toEqual([
      expect.objectContaining({ estate: ESTATE, gateways: { online: 1, total: 1 }, occupancy: 1, doors: { open: 0, forced: 1, held: 0 }, pressure: false }),
    ]);
    expect(await waitFor(() => pushes.some((p) => p.kind === 'occupancy' && (p.value as { count: number }).count === 1))).toBe(true);
    expect((await barrier.send('barrier-open', { lane: 1 })).status).toBe(200);
    expect(await waitFor(async () => (await estate()).barriers.some((b) => b.device === 'barrier-1' && b.lane === 1 && b.state === 'open'))).toBe(true);
  });

  it('a device that spoke is declared online after the online hysteresis (5 s)', async () => {
    expect(await waitFor(async () => (await estate()).devices.find((d) => d.device === 'gate-1')?.online === true, 10_000, 200)).toBe(true);
    expect(pushes.some((p) => p.kind === 'device' && p.key === 'gate-1' && (p.value as { online: boolean }).online)).toBe(true);
  });

  it('answers coded errors', async () => {
    expect(await get('/api/v1/state/estates/no-such-estate')).toMatchObject({ status: 404, body: { error: { code: 'RB_ERR_NOT_FOUND' } } });
    // An estate in the registry that no gateway reported for yet is empty, not missing (a screen opens on it).
    await hub.hub.registry.addEstate('quiet-estate', { name: '静苑' });
    expect(await get('/api/v1/state/estates/quiet-estate')).toMatchObject({ status: 200, body: { estate: 'quiet-estate', devices: [], gateways: [], doors: [] } });
    expect(await get('/api/v1/state/estates/Bad_Id')).toMatchObject({ status: 400, body: { error: { code: 'RB_ERR_BAD_ID' } } });
    expect(await get(`/api/v1/state/estates/${ESTATE}/devices/nope`)).toMatchObject({ status: 404, body: { error: { code: 'RB_ERR_UNKNOWN_DEVICE' } } });
  });

  it('a gateway that vanishes without a word goes offline (lwt)', async () => {
    const creds = await hub.provision(ESTATE, 'gw-2');
    const client = await hub.connect(creds);
    const status = { v: 1, estate: ESTATE, gateway: 'gw-2', state: 'online', ts: Date.now(), reason: 'connected' };
    await client.publishAsync(topics.status(ESTATE, 'gw-2'), JSON.stringify(status), { qos: 1, retain: true });
    expect(await waitFor(async () => (await estate()).gateways.find((g) => g.gateway === 'gw-2')?.online === true)).toBe(true);
    await endClient(client);
    expect(await waitFor(async () => (await estate()).gateways.find((g) => g.gateway === 'gw-2')?.reason === 'lwt')).toBe(true);
    expect((await estate()).gateways.find((g) => g.gateway === 'gw-2')).toMatchObject({ online: false, state: 'offline' });
  });

  it('gateway stopped: offline (shutdown status) in state and pushed', async () => {
    await gateway.stop();
    expect(await waitFor(async () => (await estate()).gateways.find((g) => g.gateway === 'gw-1')?.state === 'offline')).toBe(true);
    expect((await estate()).gateways.find((g) => g.gateway === 'gw-1')).toMatchObject({ online: false, reason: 'shutdown' });
    expect(
      await waitFor(() => pushes.some((p) => p.kind === 'gateway' && p.key === 'gw-1' && (p.value as { state: string }).state === 'offline')),
    ).toBe(true);
  });
});
