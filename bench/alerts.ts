/**
 * Alert latency: a forced door pushed by the ISAPI simulator → gateway process (outbox, MQTT) → hub
 * process (ingest, store, rules, alert store, push log) → `alert:new` at a volunteer's socket.io-client.
 * Measured idle and under background load (RB_BENCH_BG_RATE events/s, default 5,000, published by a
 * separate process as another gateway of the same estate). Target (issue 6): p99 ≤ 50 ms under load.
 *
 *   npm run bench:alerts   (RB_BENCH_SAMPLES, RB_BENCH_BG_RATE to resize)
 *
 * Prints a table and writes bench/results/alerts.json. The hub runs on its embedded SQLite store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { io as ioClient } from 'socket.io-client';
import { stringify } from 'yaml';
import { createAccessGateSimulator } from '../devices/access-gate/simulator.js';
import { freePort } from '../test/support/ports.js';
import { percentile, procRss, sleep, startCliProcess, stopChild, table, waitForPort } from './lib.js';

const SAMPLES = Number(process.env.RB_BENCH_SAMPLES ?? 200);
const BG_RATE = Number(process.env.RB_BENCH_BG_RATE ?? 5000);
const TOKEN = 'bench-alerts-api-token-0123456789';
const ESTATE = 'bench-estate';

async function api(base: string, method: string, path: string, body?: unknown, token = TOKEN): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function startBackground(mqttUrl: string, creds: Record<string, unknown>): Promise<{ proc: ChildProcess; result: Promise<{ rate: number; acked: number }> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', new URL('./background.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env, RB_BG_URL: mqttUrl, RB_BG_ESTATE: ESTATE, RB_BG_GATEWAY: String(creds.gateway),
      RB_BG_USERNAME: String(creds.username), RB_BG_PASSWORD: String(creds.password), RB_BG_RATE: String(BG_RATE),
    },
  });
  const lines = createInterface({ input: proc.stdout! });
  let last = '';
  const result = new Promise<{ rate: number; acked: number }>((resolve) => {
    lines.on('line', (l) => (last = l));
    proc.once('exit', () => resolve(JSON.parse(last) as { rate: number; acked: number }));
  });
  return new Promise((resolve, reject) => {
    lines.once('line', (l) => (l === 'ready' ? resolve({ proc, result }) : reject(new Error(`background: ${l}`))));
    proc.once('exit', (code) => reject(new Error(`background publisher exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-alerts-'));
  const children: ChildProcess[] = [];
  try {
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    const base = `http://127.0.0.1:${httpPort}`;
    const hub = startCliProcess(
      ['hub', '--data-dir', join(dir, 'hub'), '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'],
      { RB_API_TOKEN: TOKEN, RB_MQTT_PUBLISH_RATE: '1000000', RB_MQTT_PUBLISH_BURST: '1000000' },
    );
    children.push(hub);
    await waitForPort(httpPort, 30_000);
    const gw = await api(base, 'POST', '/api/v1/admin/gateways', { estate: ESTATE, gateway: 'gw-1' });
    const bg = await api(base, 'POST', '/api/v1/admin/gateways', { estate: ESTATE, gateway: 'gw-bg' });
    await api(base, 'POST', '/api/v1/users', { name: 'bench-volunteer', role: 'volunteer', scopes: [`estate:${ESTATE}`], password: 'bench-password-1' });
    const login = await api(base, 'POST', '/api/v1/auth/login', { name: 'bench-volunteer', password: 'bench-password-1' });
    // Every forced door opens a new alert: a forced door is an alarm, so after the door closes the
    // bench resolves it as a person would (REST), and the next forced door is a new alert.
    await api(base, 'PUT', `/api/v1/estates/${ESTATE}/alert-settings`, { quietHours: { maxSeverity: 0 } });

    const gwDir = join(dir, 'gw');
    mkdirSync(gwDir, { recursive: true });
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      stringify({
        estate: ESTATE, gateway: 'gw-1', dataDir: gwDir,
        hub: { url: `mqtt://127.0.0.1:${mqttPort}`, username: gw.username, password: gw.password },
        privacy: { salt: 'bench-salt-0123456789abcdef' },
        devicePush: { host: '127.0.0.1', port: pushPort },
        log: { level: 'warn' },
        devices: [{ id: 'gate-1', driver: 'hikvision-isapi' }],
      }),
    );
    const gateway = startCliProcess(['gateway', '--config', config]);
    children.push(gateway);
    await waitForPort(pushPort, 30_000);

    const socket = ioClient(base, { auth: { token: login.token }, transports: ['websocket'] });
    const waiting: Array<(at: number) => void> = [];
    const resolvedWaiting: Array<() => void> = [];
    let lastAlert = '';
    socket.on('alert:new', (env: { data: { id: string } }) => {
      lastAlert = env.data.id;
      waiting.shift()?.(performance.now());
    });
    socket.on('alert:update', (env: { data: { state: string } }) => {
      if (env.data.state === 'resolved') resolvedWaiting.shift()?.();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const sim = createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/gate-1`, deviceName: 'gate-1', format: 'json' });

    async function measure(n: number, label: string): Promise<number[]> {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const arrived = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${label}: no alert:new within 10 s`)), 10_000);
          waiting.push((at) => {
            clearTimeout(timer);
            resolve(at);
          });
        });
        const t0 = performance.now();
        const res = await sim.send('forced');
        if (res.status !== 200) throw new Error(`simulator push answered ${res.status}`);
        out.push((await arrived) - t0);
        const resolved = new Promise<void>((r) => resolvedWaiting.push(r));
        await sim.send('door-close');
        await api(base, 'POST', `/api/v1/alerts/${lastAlert}/resolve`, { note: 'bench' });
        await Promise.race([resolved, sleep(5_000)]);
        await sleep(20);
        if ((i + 1) % 50 === 0) process.stderr.write(`bench:alerts ${label}: ${i + 1}/${n}\n`);
      }
      return out;
    }

    await measure(10, 'warm-up');
    const idle = await measure(SAMPLES, 'idle');
    const background = await startBackground(`mqtt://127.0.0.1:${mqttPort}`, bg);
    children.push(background.proc);
    await sleep(2_000);
    const loaded = await measure(SAMPLES, `${BG_RATE}/s background`);
    const hubRss = procRss(hub.pid!).rssMb;
    await stopChild(background.proc);
    const bgResult = await background.result;
    socket.close();
    sim.stop();

    const row = (name: string, xs: number[], bgRate: number) => ({
      path: name, samples: xs.length, background_ev_s: Math.round(bgRate), p50_ms: percentile(xs, 50), p99_ms: percentile(xs, 99), max_ms: Math.max(...xs),
    });
    const rows = [row('forced door → alert:new (idle)', idle, 0), row('forced door → alert:new (loaded)', loaded, bgResult.rate)];
    console.log(table(rows));
    const p99Loaded = percentile(loaded, 99);
    console.log(`\np99 under ${Math.round(bgResult.rate)} ev/s background: ${p99Loaded.toFixed(1)} ms (target ≤ 50, aim 25); ratio loaded/idle p99 ${(p99Loaded / percentile(idle, 99)).toFixed(2)}; hub RSS ${hubRss.toFixed(0)} MiB`);
    const results = new URL('./results/', import.meta.url).pathname;
    mkdirSync(results, { recursive: true });
    writeFileSync(
      join(results, 'alerts.json'),
      `${JSON.stringify({ bench: 'alerts', when: new Date().toISOString(), samples: SAMPLES, background_target_ev_s: BG_RATE, background_ev_s: bgResult.rate, idle: rows[0], loaded: rows[1], p99_loaded_ms: p99Loaded, hub_rss_mb: hubRss }, null, 2)}\n`,
    );
  } finally {
    for (const c of children.reverse()) await stopChild(c).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
