import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type SimKind } from '../../devices/access-gate/simulator.js';
import type { RbEvent } from '../../protocol/index.js';
import { stopProcess } from '../support/cli.js';
import { gatewayConfig, sendUntilOk, startGatewayProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

const TOTAL = 10_000;
const DEVICES = ['gate-1', 'gate-2', 'gate-3', 'gate-4'];
const KINDS: SimKind[] = ['card-ok', 'door-open', 'door-close', 'face-ok', 'card-unknown', 'forced'];

describe('gateway killed with SIGKILL in the middle of a 10,000-event burst', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-kill9-'));
  let hub: TestHub | undefined;
  afterAll(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the hub ends with exactly 10,000 distinct events, none twice', async () => {
    hub = await startTestHub();
    const pushed: string[] = [];
    hub.hub.bus.on('event', (e: RbEvent) => void pushed.push(e.id));
    const creds = await hub.provision('kill-estate', 'gw-1');
    const pushPort = await freePort();
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw'), devices: DEVICES.map((id) => ({ id })) });
    let gateway = await startGatewayProcess(dir, raw, pushPort);

    const sims = DEVICES.map((id) => createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/${id}`, deviceName: id, format: 'json' }));
    const t0 = Date.now() - 3_600_000;
    let accepted = 0;
    let killed = false;
    // One lane per device, each re-posting until 200 like a real controller; 2,500 events each.
    const lanes = sims.map(async (sim, d) => {
      for (let i = 0; i < TOTAL / DEVICES.length; i++) {
        const serialNo = i + 1;
        await sendUntilOk(sim, KINDS[i % KINDS.length]!, { serialNo, at: t0 + i * 1000 + d });
        accepted++;
      }
    });
    const killer = (async () => {
      await waitFor(() => accepted >= TOTAL * 0.4, 60_000, 5);
      await stopProcess(gateway, 'SIGKILL');
      killed = true;
      const acceptedAtKill = accepted;
      gateway = await startGatewayProcess(dir, raw, pushPort);
      return acceptedAtKill;
    })();
    await Promise.all(lanes);
    const acceptedAtKill = await killer;
    sims.forEach((s) => s.stop());
    expect(killed).toBe(true);
    expect(acceptedAtKill).toBeGreaterThan(0);
    expect(acceptedAtKill).toBeLessThan(TOTAL);

    const store = hub.hub.store;
    const done = await waitFor(async () => (await store.query({ estate: 'kill-estate', limit: 50_000 })).length >= TOTAL, 60_000, 250);
    const stored = await store.query({ estate: 'kill-estate', limit: 50_000 });
    await stopProcess(gateway);
    expect(done, `stored ${stored.length}`).toBe(true);
    expect(stored).toHaveLength(TOTAL);
    expect(new Set(stored.map((e) => e.id)).size).toBe(TOTAL);
    // Every device serial arrived once: no event lost and none aliased into another.
    for (const device of DEVICES) {
      const serials = stored.filter((e) => e.device === device).map((e) => (e.data as { source?: { serial?: number } }).source?.serial);
      expect(new Set(serials).size, device).toBe(TOTAL / DEVICES.length);
    }
    // Screens and alerts saw each event once too (the persistent dedup window).
    expect(pushed).toHaveLength(TOTAL);
    expect(new Set(pushed).size).toBe(TOTAL);
  }, 240_000);
});
