import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RbEvent } from '../../protocol/index.js';
import { runCli, stopProcess } from '../support/cli.js';
import { gatewayConfig, startGatewayProcess } from '../support/gateway.js';
import { sleep, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

/**
 * `red-butler simulate` re-posts what the gateway did not take, as the controllers do: the gateway
 * process is killed (SIGKILL) in the middle of a run and started again, and the hub still ends with
 * every event the simulator sent, once each (access gates and ZKTeco records by serial number).
 * Before, a restart silently dropped the events posted while the gateway was away (~9 %).
 */
const HEALTH = new Set(['device.online', 'device.offline']);

describe('red-butler simulate while its gateway is killed and restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-sim-restart-'));
  let hub: TestHub | undefined;
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  afterAll(async () => {
    if (gateway) await stopProcess(gateway);
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every event exactly once to the hub', async () => {
    hub = await startTestHub();
    const creds = await hub.provision('restart-court', 'gw-1');
    const pushPort = await freePort();
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw') });
    raw.devices = [
      { id: 'gate-1', driver: 'hikvision-isapi', options: {} },
      { id: 'zk-1', driver: 'zkteco-adms', options: { serialNumber: 'ZK0001' } },
      { id: 'barrier-1', driver: 'hikvision-anpr', options: { lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] } },
    ];
    const file = join(dir, 'gateway.yaml');
    gateway = await startGatewayProcess(dir, raw, pushPort, file);

    // Progress lines on stderr: "simulate: 3s, 250/600 events sent, 0 failed, 12 re-posts, 98/s".
    let progress = { sent: 0, reposts: 0 };
    const run = runCli(
      ['simulate', '--gateway-url', `restart-court=http://127.0.0.1:${pushPort}`, '--devices', 'gate-1', '--zkteco', 'ZK0001', '--barriers', 'barrier-1',
        '--events', '600', '--rate', '100', '--format', 'json', '--seed', '3', '--progress-every', '0.2'],
      {
        timeoutMs: 60_000,
        onStderr: (chunk) => {
          for (const m of chunk.matchAll(/(\d+)\/600 events sent, \d+ failed, (\d+) re-posts/g)) progress = { sent: Number(m[1]), reposts: Number(m[2]) };
        },
      },
    );
    // Kill the gateway once the run is under way (not after a fixed time: a loaded machine may start
    // the simulator late), and keep it down until the simulator has seen posts find nobody.
    expect(await waitFor(() => progress.sent >= 60, 20_000, 20), 'the simulator never got going').toBe(true);
    await stopProcess(gateway, 'SIGKILL');
    expect(await waitFor(() => progress.reposts > 0, 20_000, 20), 'no post failed while the gateway was down').toBe(true);
    await sleep(300);
    gateway = await startGatewayProcess(dir, raw, pushPort, file);
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { sent: number; failed: number; reposts: number; byType: Record<string, number> };
    expect(summary).toMatchObject({ sent: 600, failed: 0 });
    expect(summary.reposts).toBeGreaterThan(0);

    const stored = async (): Promise<RbEvent[]> =>
      (await hub!.hub.store.query({ estate: 'restart-court', limit: 10_000 })).filter((e) => !HEALTH.has(e.type));
    expect(await waitFor(async () => (await stored()).length >= 600, 20_000, 200)).toBe(true);
    await sleep(500);
    const events = await stored();
    expect(events).toHaveLength(600);
    const byType: Record<string, number> = {};
    for (const e of events) byType[e.type] = (byType[e.type] ?? 0) + 1;
    expect(byType).toEqual(summary.byType);
    // Serial numbers: 1..n for each controller, each once.
    for (const device of ['gate-1', 'zk-1']) {
      const serials = events.filter((e) => e.device === device).map((e) => (e.data as { source?: { serial?: number } }).source?.serial ?? -1);
      expect(serials.length, device).toBeGreaterThan(50);
      expect([...serials].sort((a, b) => a - b), device).toEqual(Array.from({ length: serials.length }, (_, i) => i + 1));
    }
  }, 90_000);
});
