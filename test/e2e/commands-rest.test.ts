import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Issue 6, item 7: a volunteer opens a door from the phone. REST `POST /api/v1/commands` → hub →
 * MQTT → gateway → ISAPI remote door control (Digest) on the simulated controller → result pushed
 * back as `command:result` to the estate's screens, and the actor audited with the outcome.
 */
describe('commands over REST: the door opens, the result is pushed, the actor is audited', () => {
  const ESTATE = 'cmd-rest-estate';
  const dir = mkdtempSync(join(tmpdir(), 'rb-cmd-rest-'));
  let t: TestHub;
  let gateway: Gateway;
  let device: AccessGateSimulator;
  let socket: Socket | undefined;
  let vol: { id: string; token: string };

  beforeAll(async () => {
    t = await startTestHub();
    await t.hub.registry.addEstate(ESTATE);
    vol = await t.addUser({ name: 'vol-cmd', role: 'volunteer', scopes: [`estate:${ESTATE}`] });
    device = createAccessGateSimulator({ target: 'http://127.0.0.1:9/unused', deviceName: 'gate-1' });
    const address = await device.listen({ username: 'admin', password: 'door-secret-1', pushOnOpen: false });
    gateway = await startGatewayInProcess(
      gatewayConfig({
        creds: await t.provision(ESTATE, 'gw-1'),
        mqttPort: t.mqttPort,
        dataDir: join(dir, 'gw'),
        heartbeatS: 1,
        devices: [{ id: 'gate-1', options: { address, username: 'admin', password: 'door-secret-1' } }],
      }),
    );
    // The hub learns the device from the gateway's status.
    const known = async () => ((await t.api('GET', `/api/v1/admin/devices?estate=${ESTATE}`)).json.items as unknown[] | undefined)?.length ?? 0;
    expect(await waitFor(async () => (await known()) > 0, 10_000)).toBe(true);
  }, 30_000);

  afterAll(async () => {
    socket?.close();
    await gateway?.stop();
    device?.stop();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens door 1 for the volunteer and tells every screen of the estate', async () => {
    socket = ioClient(t.httpUrl, { auth: { token: vol.token }, transports: ['websocket'] });
    const results: Array<{ data: Record<string, unknown> }> = [];
    socket.on('command:result', (env: { data: Record<string, unknown> }) => results.push(env));
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', () => resolve());
      socket!.once('connect_error', reject);
    });
    const before = device.executions().length;
    const res = await t.api('POST', '/api/v1/commands', { token: vol.token, body: { estate: ESTATE, device: 'gate-1', name: 'door.open', args: { door: 1 } } });
    expect(res.status).toBe(202);
    const id = res.json.id as string;
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    await waitFor(() => results.some((r) => r.data.id === id), 10_000);
    expect(results.find((r) => r.data.id === id)!.data).toMatchObject({
      estate: ESTATE,
      device: 'gate-1',
      name: 'door.open',
      actor: `user:${vol.id}`,
      result: { id, status: 'ok', data: { door: 1, cmd: 'open' } },
    });
    expect(device.executions().slice(before)).toMatchObject([{ door: 1, cmd: 'open' }]);
    const audit = await t.api('GET', `/api/v1/audit?estate=${ESTATE}&actor=user:${vol.id}`);
    const actions = (audit.json.items as Array<{ action: string }>).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['command.send', 'command.result']));
    // A bad argument never leaves the hub.
    const bad = await t.api('POST', '/api/v1/commands', { token: vol.token, body: { estate: ESTATE, device: 'gate-1', name: 'door.open', args: { door: 999 } } });
    expect(bad.status).toBe(400);
    const unknown = await t.api('POST', '/api/v1/commands', { token: vol.token, body: { estate: ESTATE, device: 'gate-9', name: 'door.open', args: {} } });
    expect(unknown.status).toBe(404);
  }, 30_000);

  it('keeps each command as a row: the answer is on it, and one nobody answers expires, is pushed and audited', async () => {
    const results: Array<{ data: Record<string, unknown> }> = [];
    socket!.on('command:result', (env: { data: Record<string, unknown> }) => results.push(env));
    const res = await t.api('POST', '/api/v1/commands', { token: vol.token, body: { estate: ESTATE, device: 'gate-1', name: 'door.open', args: { door: 1 } } });
    const id = res.json.id as string;
    await waitFor(() => results.some((r) => r.data.id === id), 10_000);
    const row = await t.api('GET', `/api/v1/commands/${id}`, { token: vol.token });
    expect(row.status).toBe(200);
    expect(row.json).toMatchObject({ id, estate: ESTATE, gateway: 'gw-1', device: 'gate-1', name: 'door.open', state: 'ok', actor: { id: `user:${vol.id}` }, result: { status: 'ok' } });
    const outsider = await t.addUser({ name: 'vol-elsewhere', role: 'volunteer', scopes: ['estate:elsewhere'] });
    expect((await t.api('GET', `/api/v1/commands/${id}`, { token: outsider.token })).status).toBe(404);

    // The gateway goes away; a command sent to it is already past its expiry and grace: nobody
    // answers, and the sweep gives up on it in the hub, not a promise in a request.
    await gateway.stop();
    const lost = await t.hub.commands.issue({ estate: ESTATE, gateway: 'gw-1', device: 'gate-1', name: 'door.open', args: { door: 1 }, actor: { id: `user:${vol.id}`, name: 'vol-cmd', role: 'volunteer' }, ttlMs: -10_000 });
    await waitFor(() => results.some((r) => r.data.id === lost.id), 10_000);
    expect(results.find((r) => r.data.id === lost.id)!.data).toMatchObject({ estate: ESTATE, device: 'gate-1', error: { code: 'RB_ERR_COMMAND_TIMEOUT' } });
    expect((await t.api('GET', `/api/v1/commands/${lost.id}`, { token: vol.token })).json).toMatchObject({ state: 'expired', code: 'RB_ERR_COMMAND_TIMEOUT', result: null });
    const audit = await t.api('GET', `/api/v1/audit?estate=${ESTATE}&actor=user:${vol.id}`);
    expect((audit.json.items as Array<{ action: string; detail: { id?: string } }>).filter((a) => a.detail?.id === lost.id).map((a) => a.action)).toEqual(['command.failed']);
  }, 30_000);
});
