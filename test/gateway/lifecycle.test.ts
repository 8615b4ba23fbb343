import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCommandLog } from '../../gateway/command-log.js';
import { GatewayStatus } from '../../protocol/index.js';
import { stopProcess } from '../support/cli.js';
import { gatewayConfig, startGatewayProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

describe('gateway status: heartbeat, graceful shutdown, crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-life-'));
  let hub: TestHub | undefined;
  afterAll(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('heartbeats with the health fields, publishes offline on SIGTERM, and leaves the LWT on SIGKILL', async () => {
    hub = await startTestHub();
    const statuses: GatewayStatus[] = [];
    hub.hub.bus.on('gateway.status', (s) => void statuses.push(s));
    const creds = await hub.provision('life-estate', 'gw-1');
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw'), heartbeatS: 0.3, devices: [{ id: 'gate-1' }, { id: 'gate-2' }] });

    let proc = await startGatewayProcess(dir, raw, await freePort());
    expect(await waitFor(() => statuses.filter((s) => s.reason === 'heartbeat').length >= 3, 10_000)).toBe(true);
    const beat = statuses.filter((s) => s.reason === 'heartbeat').at(-1)!;
    expect(GatewayStatus.parse(beat)).toEqual(beat);
    expect(beat).toMatchObject({ state: 'online', estate: 'life-estate', gateway: 'gw-1', version: expect.any(String) });
    expect(beat.uptimeS).toBeGreaterThanOrEqual(0);
    expect(Object.keys(beat.devices ?? {}).sort()).toEqual(['gate-1', 'gate-2']);
    expect(beat.outbox).toMatchObject({ depth: 0, droppedTotal: 0, droppedSinceStart: 0, pressure: false, oldestAgeS: null });
    expect(beat.lastHubContact).toBeGreaterThan(Date.now() - 10_000);

    // Graceful: the gateway says goodbye itself.
    statuses.length = 0;
    expect(await stopProcess(proc, 'SIGTERM')).toBe(0);
    expect(await waitFor(() => statuses.some((s) => s.state === 'offline'), 5_000)).toBe(true);
    expect(statuses.find((s) => s.state === 'offline')).toMatchObject({ reason: 'shutdown' });

    // Crash: the broker publishes the Last Will.
    proc = await startGatewayProcess(dir, raw, await freePort());
    expect(await waitFor(() => statuses.some((s) => s.reason === 'connected'), 10_000)).toBe(true);
    statuses.length = 0;
    await stopProcess(proc, 'SIGKILL');
    expect(await waitFor(() => statuses.some((s) => s.state === 'offline'), 20_000)).toBe(true);
    expect(statuses.find((s) => s.state === 'offline')).toMatchObject({ reason: 'lwt', gateway: 'gw-1' });
  }, 60_000);
});

describe('command log', () => {
  it('remembers executed ids and their results across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-cmdlog-'));
    try {
      const file = join(dir, 'commands.db');
      let log = openCommandLog(file);
      expect(log.claim('01KQXW4R7G0000000000000001', 'gate-1', 'door.open')).toEqual({ state: 'new' });
      const result = { v: 1 as const, id: '01KQXW4R7G0000000000000001', device: 'gate-1', status: 'ok' as const, ts: 1 };
      log.finish(result);
      expect(log.claim('01KQXW4R7G0000000000000002', 'gate-1', 'door.open')).toEqual({ state: 'new' });
      log.close();
      log = openCommandLog(file);
      expect(log.claim('01KQXW4R7G0000000000000001', 'gate-1', 'door.open')).toEqual({ state: 'done', result });
      // Claimed but never finished (a crash mid-command): reported as running, not run again.
      expect(log.claim('01KQXW4R7G0000000000000002', 'gate-1', 'door.open')).toEqual({ state: 'running' });
      log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
