import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { validateGatewayConfig } from '../../gateway/config.js';
import type { Gateway } from '../../gateway/main.js';
import { gatewayConfig, sendUntilOk, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';

/** gateway.reload(): what SIGHUP does with a re-read config (cli/gateway.ts). */
describe('gateway config reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-reload-'));
  let hub: TestHub;
  let gateway: Gateway;
  let raw: Record<string, unknown>;
  beforeAll(async () => {
    hub = await startTestHub();
    const creds = await hub.provision('reload-estate', 'gw-1');
    raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw'), devices: [{ id: 'gate-1' }, { id: 'gate-2' }] });
    gateway = await startGatewayInProcess(raw);
  });
  afterAll(async () => {
    await gateway?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarts changed devices, starts new ones, stops removed ones, keeps the rest, and names what needs a restart', async () => {
    const devices = [
      { id: 'gate-1', driver: 'hikvision-isapi', options: {} }, // unchanged
      { id: 'gate-2', driver: 'hikvision-isapi', name: '西门', options: { path: '/isapi/west' } }, // changed
      { id: 'gate-3', driver: 'hikvision-isapi', options: {} }, // new
    ];
    const next = validateGatewayConfig({ ...raw, heartbeatS: 5, devices });
    const result = await gateway.reload(next);
    expect(result).toEqual({ added: ['gate-3'], removed: [], restarted: ['gate-2'], needsRestart: ['heartbeatS'] });
    expect(Object.keys(gateway.status().devices ?? {}).sort()).toEqual(['gate-1', 'gate-2', 'gate-3']);
    expect(gateway.status().devices?.['gate-2']?.name).toBe('西门');

    // The restarted driver listens on its new path; the old path is gone; the new device works.
    const port = gateway.pushAddress().port;
    const west = createAccessGateSimulator({ target: `http://127.0.0.1:${port}/isapi/west`, deviceName: 'gate-2', format: 'json' });
    const old = createAccessGateSimulator({ target: `http://127.0.0.1:${port}/isapi/gate-2`, deviceName: 'gate-2', format: 'json' });
    const third = createAccessGateSimulator({ target: `http://127.0.0.1:${port}/isapi/gate-3`, deviceName: 'gate-3', format: 'json' });
    await sendUntilOk(west, 'card-ok', { serialNo: 1 }, 5_000);
    await sendUntilOk(third, 'card-ok', { serialNo: 1 }, 5_000);
    expect((await old.send('card-ok', { serialNo: 2 })).status).toBe(404);
    expect(await waitFor(async () => (await hub.events({ device: 'gate-3' })).length === 1 && (await hub.events({ device: 'gate-2' })).length === 1)).toBe(true);

    // Removing a device stops it.
    const fewer = await gateway.reload(validateGatewayConfig({ ...raw, heartbeatS: 5, devices: devices.slice(0, 2) }));
    expect(fewer).toEqual({ added: [], removed: ['gate-3'], restarted: [], needsRestart: ['heartbeatS'] });
    expect((await third.send('card-ok', { serialNo: 2 })).status).toBe(404);
    expect(Object.keys(gateway.status().devices ?? {}).sort()).toEqual(['gate-1', 'gate-2']);
  });
});
