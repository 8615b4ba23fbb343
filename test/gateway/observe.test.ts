import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator } from '../../devices/access-gate/simulator.js';
import type { OnvifSimulator } from '../../devices/onvif-camera/simulator.js';
import { validateGatewayConfig } from '../../gateway/config.js';
import { createGatewayObserver, type GatewayHealth } from '../../gateway/observe.js';
import { silentLogger } from '../../lib/log.js';
import type { GatewayStatus } from '../../protocol/index.js';
import { USER, PASS, FAST, startSim } from '../devices/onvif-camera/harness.js';
import { stopProcess } from '../support/cli.js';
import { gatewayConfig, sendUntilOk, startGatewayProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

/** Sum of every sample of `name` whose labels include `labels`; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/**
 * The TCP ports a process listens on, with their address ("127.0.0.1:9101"), read from /proc: the
 * process's socket inodes matched against the LISTEN rows (state 0A) of /proc/<pid>/net/tcp{,6}.
 */
function listeningOf(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  const out: string[] = [];
  for (const file of ['tcp', 'tcp6']) {
    const path = `/proc/${pid}/net/${file}`;
    if (!existsSync(path)) continue;
    for (const row of readFileSync(path, 'utf8').trim().split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [hex, port] = f[1]!.split(':');
      // IPv4 in /proc is the 32-bit address in host (little-endian) order.
      const host = hex!.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(hex!.slice(i * 2, i * 2 + 2), 16)).join('.') : `[${hex}]`;
      out.push(`${host}:${parseInt(port!, 16)}`);
    }
  }
  return out.sort();
}
const PROC = existsSync('/proc/self/net/tcp');

describe('gateway /metrics and /healthz, in the gateway process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-observe-'));
  let hub: TestHub;
  let cam: OnvifSimulator;
  const procs: Array<Awaited<ReturnType<typeof startGatewayProcess>>> = [];
  beforeAll(async () => {
    hub = await startTestHub();
    cam = await startSim();
  });
  afterAll(async () => {
    for (const p of procs) await stopProcess(p, 'SIGKILL');
    await cam?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rawConfig(gateway: string, metrics?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const creds = await hub.provision('watch-estate', gateway);
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, gateway), heartbeatS: 0.5 });
    const camera = { id: 'cam-1', driver: 'onvif', name: 'Car park', options: { address: cam.deviceUrl(), username: USER, password: PASS, ...FAST } };
    return { ...raw, devices: [...(raw.devices as unknown[]), camera], ...(metrics ? { metrics } : {}) };
  }

  it.skipIf(!PROC)('opens no listener but the device port when the metrics block is absent', async () => {
    const pushPort = await freePort();
    const proc = await startGatewayProcess(dir, await rawConfig('gw-off'), pushPort);
    procs.push(proc);
    expect(listeningOf(proc.pid!)).toEqual([`127.0.0.1:${pushPort}`]);
    expect(await stopProcess(proc)).toBe(0);
  }, 20_000);

  it('serves /metrics and /healthz on loopback, with every device, the uplink and the outbox', async () => {
    const pushPort = await freePort();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = await startGatewayProcess(dir, await rawConfig('gw-on', { port }), pushPort);
    procs.push(proc);
    if (PROC) expect(listeningOf(proc.pid!)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${pushPort}`].sort());

    // The access gate pushes two events (so it is online); the camera is polled by its driver.
    const gate = createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/gate-1`, deviceName: 'gate-1', format: 'json' });
    await sendUntilOk(gate, 'card-ok', { serialNo: 1 }, 10_000);
    await sendUntilOk(gate, 'door-open', { serialNo: 2 }, 10_000);
    const health = async (): Promise<GatewayHealth> => (await fetch(`${base}/healthz`)).json() as Promise<GatewayHealth>;
    const settled = await waitFor(async () => {
      const h = await health();
      return h.uplink.connected && h.outbox?.depth === 0 && h.devices.every((d) => d.state === 'online');
    }, 10_000, 100);
    const h = await health();
    expect(settled, JSON.stringify(h)).toBe(true);

    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(h).toMatchObject({ status: 'ok', problems: [], estate: 'watch-estate', gateway: 'gw-on', uplink: { connected: true, reconnects: 0 } });
    expect(h.uplink.lastHubContact).toBeGreaterThan(Date.now() - 10_000);
    expect(h.devices.map((d) => [d.id, d.kind, d.state])).toEqual([
      ['gate-1', 'access-gate', 'online'],
      ['cam-1', 'onvif-camera', 'online'],
    ]);
    expect(h.devices[1]).toMatchObject({ name: 'Car park', online: true, lastSeen: expect.any(Number) });

    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await m.text();
    for (const q of ['0.5', '0.99', '1']) expect(sample(text, 'rb_gateway_event_loop_delay_seconds', { quantile: q })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'rb_gateway_event_loop_delay_seconds', { quantile: '1' })).toBeLessThan(5);
    expect(sample(text, 'rb_gateway_outbox_depth')).toBe(0);
    expect(sample(text, 'rb_gateway_outbox_dropped_total')).toBe(0);
    expect(sample(text, 'rb_gateway_uplink_connected')).toBe(1);
    expect(sample(text, 'rb_gateway_uplink_acked_total')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'rb_gateway_hub_contact_age_seconds')).toBeLessThan(10);
    for (const device of ['gate-1', 'cam-1']) {
      expect(sample(text, 'rb_gateway_device_state', { device, state: 'online' }), device).toBe(1);
      expect(sample(text, 'rb_gateway_device_state', { device, state: 'offline' }), device).toBe(0);
      expect(sample(text, 'rb_gateway_device_state', { device, state: 'auth-failed' }), device).toBe(0);
      expect(sample(text, 'rb_gateway_device_warnings', { device }), device).toBe(0);
    }
    expect(sample(text, 'rb_gateway_info', { estate: 'watch-estate', gateway: 'gw-on' })).toBe(1);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // The ONVIF driver meters its SOAP calls (GetSystemDateAndTime polls, PullMessages...).
    expect(sample(text, 'rb_gateway_device_requests_total', { device: 'cam-1', outcome: 'ok' })).toBeGreaterThan(0);

    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');

    expect(await stopProcess(proc)).toBe(0);
    expect(await fetch(`${base}/healthz`).catch(() => 'refused')).toBe('refused');
  }, 25_000);
});

describe('gateway observer, in process', () => {
  const status = (devices: GatewayStatus['devices']): GatewayStatus => ({
    v: 1,
    estate: 'e1',
    gateway: 'g1',
    state: 'online',
    ts: Date.now(),
    version: 'test',
    uptimeS: 3,
    devices,
    outbox: { depth: 4, alarms: 1, bytes: 900, oldestAgeS: 2, droppedTotal: 7, droppedSinceStart: 0, pressure: false },
    lastHubContact: null,
    reconnects: 0,
  });
  const uplink = { connected: () => false, stats: () => ({ inflight: 0, reconnects: 2, published: 0, acked: 0, lastHubContact: null }) };

  it('is off without a port, and counts metered requests; states and problems come from device health', async () => {
    const off = createGatewayObserver({ config: { metrics: { host: '127.0.0.1' } }, log: silentLogger(), status: () => status({}), uplink });
    await off.start();
    expect(off.address()).toBeUndefined();
    await off.stop();

    const devices: GatewayStatus['devices'] = {
      'cam-1': { online: false, state: 'auth-failed', error: 'ter:NotAuthorized', kind: 'onvif-camera', info: { manufacturer: 'Sim', model: 'S1' } },
      'gate-1': { online: false, kind: 'access-gate' },
    };
    const on = createGatewayObserver({ config: { metrics: { host: '127.0.0.1', port: 0 } }, log: silentLogger(), status: () => status(devices), uplink });
    const meter = on.meter('cam-1');
    meter.request('PullMessages', 'ok');
    meter.request('PullMessages', 'ok');
    meter.request('GetSystemDateAndTime', 'auth-failed');
    await on.start();
    try {
      const { host, port } = on.address()!;
      expect(host).toBe('127.0.0.1');
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(sample(text, 'rb_gateway_device_requests_total', { device: 'cam-1', op: 'PullMessages', outcome: 'ok' })).toBe(2);
      expect(sample(text, 'rb_gateway_device_requests_total', { device: 'cam-1', outcome: 'auth-failed' })).toBe(1);
      expect(sample(text, 'rb_gateway_device_state', { device: 'cam-1', state: 'auth-failed' })).toBe(1);
      expect(sample(text, 'rb_gateway_device_state', { device: 'gate-1', state: 'offline' })).toBe(1);
      expect(sample(text, 'rb_gateway_outbox_depth')).toBe(4);
      expect(sample(text, 'rb_gateway_outbox_dropped_total')).toBe(7);
      expect(sample(text, 'rb_gateway_uplink_connected')).toBe(0);
      expect(sample(text, 'rb_gateway_uplink_reconnects_total')).toBe(2);
      // Never in contact: the age counts from the gateway's start.
      expect(sample(text, 'rb_gateway_hub_contact_age_seconds')).toBeCloseTo(3, 0);

      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200); // degraded is still 200: see gateway/observe.ts
      const h = (await res.json()) as GatewayHealth;
      expect(h.status).toBe('degraded');
      expect(h.problems).toEqual(['uplink: not connected to the hub', 'device cam-1: auth-failed (ter:NotAuthorized)', 'device gate-1: offline']);
      expect(h.devices).toEqual([
        { id: 'cam-1', online: false, state: 'auth-failed', error: 'ter:NotAuthorized', kind: 'onvif-camera', info: { manufacturer: 'Sim', model: 'S1' } },
        { id: 'gate-1', online: false, state: 'offline', kind: 'access-gate' },
      ]);
      expect(h.uplink).toEqual({ connected: false, lastHubContact: null, lastHubContactAgeS: null, reconnects: 0 });
    } finally {
      await on.stop();
    }
    expect(on.address()).toBeUndefined();
  });

  it('reports a bad metrics block with its key path', () => {
    const raw = gatewayConfig({ creds: { estate: 'e1', gateway: 'g1', username: 'u', password: 'p' }, mqttPort: 1883, dataDir: '/tmp/x' });
    expect(() => validateGatewayConfig({ ...raw, metrics: { port: 70_000, hots: 'x' } })).toThrow(/metrics\.port:[\s\S]*metrics: Unrecognized key/);
    expect(validateGatewayConfig(raw).metrics).toEqual({ host: '127.0.0.1' });
  });
});
