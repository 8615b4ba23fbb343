import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator } from '../../../devices/access-gate/simulator.js';
import { createOnvifSimulator, type OnvifSimulator } from '../../../devices/onvif-camera/simulator.js';
import { stopProcess } from '../../support/cli.js';
import { gatewayConfig, sendUntilOk, startGatewayProcess } from '../../support/gateway.js';
import { metricValue, startTestHub, waitFor, type TestHub } from '../../support/hub.js';
import { freePort } from '../../support/ports.js';

/**
 * A camera whose firmware answers PullMessages at once instead of holding it (issue 14): before
 * pacing, the gateway pulled ~2,800 times a second, at 82-90 % CPU and +36 MiB. Here the gateway runs
 * as its own process next to an access gate for 30 s; its own /metrics gives the event-loop delay,
 * /proc its RSS, the simulated camera counts the pulls, and the hub counts the gate's events.
 */
const USER = 'operator';
const PASS = 'Cam-Secret-2718';
const STORM_MS = 30_000;
const MiB = 1024 * 1024;

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

describe('a camera that answers PullMessages at once, beside an access gate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-pull-storm-'));
  let hub: TestHub;
  let cam: OnvifSimulator;
  let proc: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  beforeAll(async () => {
    hub = await startTestHub();
    cam = createOnvifSimulator({ username: USER, password: PASS, pullMode: 'immediate', discoveryPort: false });
    await cam.start();
  });
  afterAll(async () => {
    if (proc) await stopProcess(proc, 'SIGKILL');
    await cam?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is paced to about a pull a second, warned about, and costs the gate nothing', async () => {
    const creds = await hub.provision('storm-estate', 'gw-1');
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw'), heartbeatS: 1 });
    const metricsPort = await freePort();
    const camera = { id: 'cam-1', driver: 'onvif', name: '北门摄像机', options: { address: cam.deviceUrl(), username: USER, password: PASS, pollMs: 2_000 } };
    const pushPort = await freePort();
    proc = await startGatewayProcess(dir, { ...raw, devices: [...(raw.devices as unknown[]), camera], metrics: { port: metricsPort } }, pushPort);
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const gate = createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/gate-1`, deviceName: 'gate-1', format: 'json' });

    // Warm up: the camera subscribed, the pacer has seen three early answers, the gate's path is hot.
    expect(await waitFor(() => cam.subscriptions() > 0, 10_000)).toBe(true);
    let serial = 0;
    for (let i = 0; i < 40; i++) await sendUntilOk(gate, 'card-ok', { serialNo: ++serial }, 10_000);
    expect(await waitFor(async () => metricValue(await metrics(), 'rb_gateway_device_warnings', { device: 'cam-1' }) === 1, 15_000, 200)).toBe(true);
    await metrics(); // starts a fresh event-loop window
    const rss0 = rssOf(proc.pid!);
    const pulls0 = cam.pulls();

    // The storm: 30 s of a camera answering at once, while the gate sends 10 events a second.
    const start = Date.now();
    while (Date.now() - start < STORM_MS) {
      await sendUntilOk(gate, serial % 3 === 0 ? 'door-open' : 'card-ok', { serialNo: ++serial }, 10_000);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - start) / 1000;
    const pulls = cam.pulls() - pulls0;
    const text = await metrics();
    const p99 = metricValue(text, 'rb_gateway_event_loop_delay_seconds', { quantile: '0.99' });
    const rssGrowth = rssOf(proc.pid!) - rss0;
    console.log(`pull storm: ${pulls} pulls in ${seconds.toFixed(1)} s (${(pulls / seconds).toFixed(2)}/s), event-loop p99 ${(p99 * 1000).toFixed(1)} ms, RSS growth ${(rssGrowth / MiB).toFixed(2)} MiB, ${serial} gate events`);

    expect(pulls / seconds).toBeLessThanOrEqual(1.1);
    // Each early answer is counted (the warmup's three and the storm's).
    expect(metricValue(text, 'rb_gateway_device_misbehaviour_total', { device: 'cam-1', code: 'pull-early' })).toBeGreaterThanOrEqual(3 + pulls - 1);
    expect(p99).toBeLessThan(0.05);
    expect(rssGrowth).toBeLessThan(5 * MiB);
    // Every gate event reached the hub, once.
    expect(await waitFor(async () => (await hub.events({ device: 'gate-1', limit: 1000 })).length === serial, 15_000, 200)).toBe(true);
    // The camera stayed online, and the hub holds a maintenance item for it.
    const health = (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as { devices: Array<{ id: string; state: string; warnings?: Array<{ code: string }> }> };
    expect(health.devices.find((d) => d.id === 'cam-1')).toMatchObject({ state: 'online', warnings: [{ code: 'pull-early' }] });
    const alerts = await hub.api('GET', '/api/v1/alerts?estate=storm-estate&rule=device.attention');
    expect(alerts.json.items).toEqual([expect.objectContaining({ device: 'cam-1', key: 'pull-early', state: 'open' })]);
  }, 90_000);
});
