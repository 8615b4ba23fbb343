import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/main.js';
import type { RbEvent } from '../../protocol/index.js';
import { runCli } from '../support/cli.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

/**
 * `red-butler simulate` against the real thing: a hub with three provisioned estates, three real
 * gateways with one device of every kind (ISAPI access gate, ZKTeco ADMS controller, ANPR barrier,
 * ONVIF camera served by the simulator), the built CLI as a child process. The JSON summary it
 * prints must match, estate by estate and type by type, what the hub stored.
 */
const ESTATES = ['north-court', 'east-court', 'south-court'] as const;
/** Health events the drivers raise on their own (camera polls), not traffic the simulator sent. */
const HEALTH = new Set(['device.online', 'device.offline']);
type ByType = Record<string, number>;
interface Summary {
  scenario: string;
  sent: number;
  failed: number;
  byType: ByType;
  byEstate: Record<string, { sent: number; failed: number; byType: ByType }>;
}

const dir = mkdtempSync(join(tmpdir(), 'rb-simulate-'));
let hub: TestHub;
const gateways: Gateway[] = [];
const plan: { estates: Array<Record<string, unknown>> } = { estates: [] };

beforeAll(async () => {
  hub = await startTestHub();
  for (const estate of ESTATES) {
    const creds = await hub.provision(estate, 'gw-1');
    const camPort = await freePort();
    const camera = { id: 'cam-1', port: camPort, username: 'admin', password: `pw-${estate}` };
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, estate) });
    raw.devices = [
      { id: 'gate-1', driver: 'hikvision-isapi', options: {} },
      { id: 'zk-1', driver: 'zkteco-adms', options: { serialNumber: 'ZK0001' } },
      { id: 'barrier-1', driver: 'hikvision-anpr', options: { lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] } },
      {
        id: 'cam-1',
        driver: 'onvif',
        options: { address: `http://127.0.0.1:${camPort}/onvif/device_service`, username: 'admin', password: camera.password, pollMs: 200, pullTimeoutS: 2 },
      },
    ];
    const gw = await startGatewayInProcess(raw);
    gateways.push(gw);
    const { port } = gw.pushAddress();
    plan.estates.push({ estate, gatewayUrl: `http://127.0.0.1:${port}`, accessGates: ['gate-1'], zkteco: ['ZK0001'], barriers: ['barrier-1'], cameras: [camera] });
  }
  writeFileSync(join(dir, 'plan.yaml'), stringify(plan));
}, 30_000);

afterAll(async () => {
  for (const gw of gateways) await gw.stop();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function stored(estate: string): Promise<RbEvent[]> {
  return (await hub.hub.store.query({ estate, limit: 100_000 })).filter((e) => !HEALTH.has(e.type));
}

function countByType(events: RbEvent[]): ByType {
  const out: ByType = {};
  for (const e of events) out[e.type] = (out[e.type] ?? 0) + 1;
  return out;
}

describe('red-butler simulate', () => {
  it('--help explains the scenarios, the plan file and the summary', async () => {
    const r = await runCli(['simulate', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--estates', '--gateway-url', '--plan', '--scenario', '--events', '--rate', 'normal-day', 'rush-hour', 'night-intrusion', 'camera-failure', 'byEstate']) {
      expect(r.stdout).toContain(s);
    }
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--gateway-url', 'http://127.0.0.1:1', '--rate', 'fast'], /'--rate <n>' argument 'fast' is invalid/],
    [['--gateway-url', 'http://127.0.0.1:1', '--scenario', 'earthquake'], /'--scenario <name>' argument 'earthquake' is invalid/],
    [['--estates', '3', '--gateway-url', 'http://127.0.0.1:1,http://127.0.0.1:2'], /--estates: 3 estates asked for, but 2/],
    [['--gateway-url', 'ftp://x'], /--gateway-url: not an http\(s\) URL/],
    [['--devices', 'Gate_1', '--gateway-url', 'http://127.0.0.1:1'], /--devices: ids must match/],
    [['--gateway-url', 'http://127.0.0.1:1', '--scenario', 'camera-failure'], /--scenario: camera-failure needs cameras/],
    [[], /--gateway-url: required/],
  ])('%j is refused with an error naming the flag', async (args, message) => {
    const r = await runCli(['simulate', ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  /** Run the CLI, then wait until the hub stored what the summary says, and compare estate by estate. */
  async function runAndCompare(args: string[], kinds: string[]): Promise<Summary> {
    const before = Object.fromEntries(await Promise.all(ESTATES.map(async (e) => [e, countByType(await stored(e))] as const)));
    const r = await runCli(['simulate', ...args, '--progress-every', '0.5'], { timeoutMs: 60_000 });
    expect(r.stderr).toMatch(/events sent/);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
    expect(summary.failed).toBe(0);
    expect(Object.keys(summary.byEstate).sort()).toEqual([...ESTATES].sort());
    // Every kind of device and the scenario's anomalies were in the traffic.
    for (const t of kinds) expect(summary.byType[t], t).toBeGreaterThan(0);

    const delta = async (estate: string): Promise<ByType> => {
      const now = countByType(await stored(estate));
      const was = before[estate] ?? {};
      return Object.fromEntries(Object.entries(now).map(([t, n]) => [t, n - (was[t] ?? 0)] as const).filter(([, n]) => n > 0));
    };
    const sum = (b: ByType): number => Object.values(b).reduce((x, y) => x + y, 0);
    const deadline = Date.now() + 30_000;
    let total = 0;
    while (Date.now() < deadline) {
      total = (await Promise.all(ESTATES.map(delta))).reduce((a, b) => a + sum(b), 0);
      if (total >= summary.sent) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(total).toBe(summary.sent);
    for (const estate of ESTATES) expect(await delta(estate), estate).toEqual(summary.byEstate[estate]!.byType);
    return summary;
  }

  it('drives a 3-estate night-intrusion run whose summary matches what the hub stored', async () => {
    const plan = join(dir, 'plan.yaml');
    const s = await runAndCompare(
      ['--estates', '3', '--plan', plan, '--scenario', 'night-intrusion', '--events', '300', '--rate', '200'],
      ['access.granted', 'door.forced', 'device.tamper', 'vehicle.denied', 'camera.motion'],
    );
    expect(s).toMatchObject({ scenario: 'night-intrusion', sent: 300 });
  }, 120_000);

  it('camera-failure makes the cameras lose signal and get tampered with', async () => {
    const s = await runAndCompare(
      ['--estates', '3', '--plan', join(dir, 'plan.yaml'), '--scenario', 'camera-failure', '--events', '150', '--rate', '150', '--seed', '7'],
      ['camera.signalLoss', 'camera.tamper', 'access.granted', 'vehicle.entered'],
    );
    expect(s.sent).toBe(150);
  }, 120_000);

  it('rush-hour with --gateway-url (named estates) and the device flags, cameras left out', async () => {
    const urls = plan.estates.map((e) => `${String(e.estate)}=${String(e.gatewayUrl)}`).join(',');
    const s = await runAndCompare(
      ['--estates', '3', '--gateway-url', urls, '--devices', 'gate-1', '--zkteco', 'ZK0001', '--barriers', 'barrier-1', '--scenario', 'rush-hour', '--events', '150', '--rate', '150'],
      ['access.granted', 'vehicle.entered', 'vehicle.exited', 'barrier.opened'],
    );
    expect(s.sent).toBe(150);
    expect(s.byType['camera.motion']).toBeUndefined();
  }, 120_000);
});
