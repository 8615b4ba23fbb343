import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAlertSettings, ESTATES, gatewayConfig, ownPortDevices, planEstate, type Ports } from '../../cli/demo-street.js';
import { INCIDENTS, OVERSTAY_PLATE } from '../../cli/scenarios/incidents.js';
import { plateKey } from '../../hub/alerts/rules.js';
import type { Gateway } from '../../gateway/main.js';
import { startCli, stopProcess } from '../support/cli.js';
import { startGatewayInProcess, TEST_SALT } from '../support/gateway.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

/**
 * The demo's incident script, at a faster pace (one round a PERIOD instead of 600 s), against a real
 * hub and gateway with the demo estate's devices, settings and gateway config: every kind of alert
 * the script is there for shows up at the hub. Only the clocks are shortened: the hub calls a
 * device offline after 1 s (not 60), the gateway polls the camera every 200 ms (not 5 s), and
 * camera.offline fires at once. vehicle.overstay cannot be shorter than its 1-minute minimum, so
 * the run takes a little over a minute.
 */
const PERIOD_S = 70;
const estate = ESTATES[0]!;
/** Every alert rule the script raises, and on which device each must show. */
const EXPECTED: Array<[string, string]> = [
  ['door.forced', estate.gates[0]!.id],
  ['plate.blocklisted', estate.barrier.id],
  ['door.held', estate.gates[1]!.id],
  ['device.tamper', estate.camera!.id], // camera tamper
  ['camera.signalLoss', estate.camera!.id],
  ['motion.night', estate.camera!.id],
  ['device.tamper', estate.zkteco!.id], // controller tamper
  ['access.denied.burst', estate.gates[1]!.id],
  ['barrier.fault', estate.barrier.id],
  ['camera.offline', estate.camera!.id],
  ['vehicle.overstay', estate.barrier.id],
];

async function listening(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await new Promise<boolean>((r) => connect(port, '127.0.0.1').once('connect', function (this: Socket) { this.destroy(); r(true); }).once('error', () => r(false)))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('the demo incident script, one round in 70 s', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-incidents-'));
  let hub: TestHub | undefined;
  let gateway: Gateway | undefined;
  let sim: ReturnType<typeof startCli> | undefined;
  afterAll(async () => {
    if (sim) await stopProcess(sim);
    await gateway?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises every kind of alert it is there for', async () => {
    expect(new Set(EXPECTED.map(([rule]) => rule))).toEqual(new Set(INCIDENTS.flatMap((s) => (s.raises ? [s.raises] : []))));
    hub = await startTestHub({ state: { offlineAfterMs: 1_000, onlineAfterMs: 500 } });
    const settings = demoAlertSettings(estate) as { rules: Record<string, unknown> };
    await hub.hub.alertStore.saveSettings(estate.id, { ...settings, rules: { ...settings.rules, 'camera.offline': { afterS: 0 } } });
    hub.hub.alerts.wake();
    const creds = await hub.provision(estate.id, 'gw-1');
    const device = new Map<string, number>();
    for (const id of ownPortDevices(estate)) device.set(id, await freePort());
    const ports: Ports = { push: await freePort(), device };
    const raw = gatewayConfig(estate, ports, { mqttPort: hub.mqttPort, httpPort: Number(new URL(hub.httpUrl).port), username: creds.username, password: creds.password }, {
      salt: TEST_SALT,
      dataDir: join(dir, 'gw'),
      level: 'warn',
    });
    const devices = raw.devices as Array<{ driver: string; options: Record<string, unknown> }>;
    for (const d of devices) if (d.driver === 'onvif') Object.assign(d.options, { pollMs: 200, pullTimeoutS: 2 });
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, stringify({ estates: [planEstate(estate, ports)] }));

    const started = Date.now();
    sim = startCli(['simulate', '--plan', plan, '--scenario', 'demo', '--incident-period', String(PERIOD_S), '--rate', '2', '--duration', String(PERIOD_S + 20), '--progress-every', '30']);
    // As the demo does: the devices first, then the gateway (a camera not up yet would be offline at once).
    for (const port of device.values()) expect(await listening(port, 15_000), sim.output()).toBe(true);
    gateway = await startGatewayInProcess(raw);
    const offlineStep = started + INCIDENTS.find((x) => x.step === 'offline')!.at * PERIOD_S * 1000;

    const seen = new Map<string, number>();
    const key = (rule: string, dev: string): string => `${rule} ${dev}`;
    while (seen.size < EXPECTED.length && Date.now() - started < 80_000) {
      await new Promise((r) => setTimeout(r, 1_000));
      const r = await hub.api('GET', `/api/v1/alerts?estate=${estate.id}&limit=200`);
      for (const a of (r.json.items ?? []) as Array<{ rule: string; device: string; openedAt: number }>) {
        const k = key(a.rule, a.device);
        if (a.rule === 'camera.offline' && a.openedAt < offlineStep) throw new Error(`camera.offline before the camera went away: ${JSON.stringify(a)}`);
        if (EXPECTED.some(([rule, dev]) => key(rule, dev) === k) && !seen.has(k)) seen.set(k, Date.now() - started);
      }
    }
    process.stdout.write(`incidents (${PERIOD_S} s period), alert seen after ms: ${JSON.stringify(Object.fromEntries(seen))}\n`);
    expect([...seen.keys()].sort(), sim.output()).toEqual(EXPECTED.map(([rule, dev]) => key(rule, dev)).sort());
    // The calm background has no alarm of its own: its deliveries leave within the minute, and only the
    // script's visitor overstays.
    const all = ((await hub.api('GET', `/api/v1/alerts?estate=${estate.id}&limit=200`)).json.items ?? []) as Array<{ rule: string; key: string }>;
    expect(all.filter((a) => a.rule === 'vehicle.overstay').map((a) => a.key)).toEqual([plateKey(OVERSTAY_PLATE)]);
    expect(all.filter((a) => a.rule === 'door.forced')).toHaveLength(1);
  }, 110_000);
});
