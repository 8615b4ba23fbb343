import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import type { Command } from '../../protocol/index.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { sleep, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const ESTATE = 'cmd-estate';
const actor = { id: 'user:volunteer-1', role: 'volunteer' };

function command(over: Partial<Command> = {}): Command {
  const now = Date.now();
  return { v: 1, id: ulid(), device: 'gate-1', name: 'door.open', args: { door: 1 }, issuedAt: now, expiresAt: now + 10_000, actor, ...over };
}

describe('commands hub -> gateway -> device, real processes on both sides of MQTT and HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cmd-'));
  let hub: TestHub;
  let gateway: Gateway;
  let proxy: TcpProxy;
  let device: AccessGateSimulator;

  beforeAll(async () => {
    hub = await startTestHub();
    proxy = await startTcpProxy(hub.mqttPort);
    const creds = await hub.provision(ESTATE, 'gw-1');
    device = createAccessGateSimulator({ target: 'http://127.0.0.1:9/unused', deviceName: 'gate-1' });
    const address = await device.listen({ username: 'admin', password: 'door-secret-1', pushOnOpen: false });
    gateway = await startGatewayInProcess(
      gatewayConfig({
        creds,
        mqttPort: proxy.port,
        dataDir: join(dir, 'gw'),
        devices: [{ id: 'gate-1', options: { address, username: 'admin', password: 'door-secret-1' } }, { id: 'gate-2' }],
      }),
    );
    await waitFor(() => gateway.uplink.connected(), 10_000);
    await sleep(200); // the command subscription follows the CONNACK
  });
  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
    device?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens the door and reports the result to the hub', async () => {
    const before = device.executions().length;
    const { command: sent, result } = await hub.hub.commands.send({ estate: ESTATE, gateway: 'gw-1', device: 'gate-1', name: 'door.open', args: { door: 1 }, actor });
    expect(result).toMatchObject({ id: sent.id, device: 'gate-1', status: 'ok', data: { door: 1, cmd: 'open' } });
    expect(device.executions().slice(before)).toMatchObject([{ door: 1, cmd: 'open' }]);
  });

  it('an expired command is rejected with RB_ERR_CMD_EXPIRED and never reaches the device', async () => {
    const before = device.executions().length;
    const cmd = command({ expiresAt: Date.now() - 1 });
    const result = await hub.hub.commands.publish(ESTATE, 'gw-1', cmd, 5_000);
    expect(result).toMatchObject({ id: cmd.id, status: 'error', code: 'RB_ERR_CMD_EXPIRED' });
    await sleep(300);
    expect(device.executions().length).toBe(before);
  });

  it('a duplicated command id is executed once; the second copy gets the first result back', async () => {
    const before = device.executions().length;
    const cmd = command();
    const first = await hub.hub.commands.publish(ESTATE, 'gw-1', cmd, 5_000);
    const second = await hub.hub.commands.publish(ESTATE, 'gw-1', cmd, 5_000);
    expect(first).toMatchObject({ status: 'ok' });
    expect(second).toMatchObject({ id: cmd.id, status: 'ok', duplicate: true });
    expect(device.executions().length).toBe(before + 1);
  });

  it('a command queued while the gateway was offline and expired by the time it arrives is never executed', async () => {
    const before = device.executions().length;
    proxy.setDown(true);
    proxy.cut();
    await waitFor(() => !gateway.uplink.connected(), 5_000);
    const cmd = command({ expiresAt: Date.now() + 1_000 });
    // Published while the gateway is away: the broker keeps it in the gateway's persistent session.
    const result = hub.hub.commands.publish(ESTATE, 'gw-1', cmd, 15_000);
    await sleep(2_000); // the command expires while the link is down
    proxy.setDown(false);
    await expect(result).resolves.toMatchObject({ id: cmd.id, status: 'error', code: 'RB_ERR_CMD_EXPIRED' });
    expect(device.executions().length).toBe(before);
  });

  it('refuses unknown devices, unsupported commands and bad arguments with coded errors', async () => {
    const before = device.executions().length;
    const unknown = await hub.hub.commands.publish(ESTATE, 'gw-1', command({ device: 'gate-9' }), 5_000);
    expect(unknown).toMatchObject({ status: 'error', code: 'RB_ERR_UNKNOWN_DEVICE' });
    const unsupported = await hub.hub.commands.publish(ESTATE, 'gw-1', command({ name: 'barrier.raise' }), 5_000);
    expect(unsupported).toMatchObject({ status: 'error', code: 'RB_ERR_CMD_UNSUPPORTED' });
    const badArgs = await hub.hub.commands.publish(ESTATE, 'gw-1', command({ args: { door: 'front' } }), 5_000);
    expect(badArgs).toMatchObject({ status: 'error', code: 'RB_ERR_CMD_INVALID' });
    expect(device.executions().length).toBe(before);
  });

  it('a device without an address fails with RB_ERR_DEVICE_FAILED naming the config key', async () => {
    const result = await hub.hub.commands.publish(ESTATE, 'gw-1', command({ device: 'gate-2' }), 5_000);
    expect(result).toMatchObject({ status: 'error', code: 'RB_ERR_DEVICE_FAILED' });
    expect(result.message).toContain('options.address');
  });
});
