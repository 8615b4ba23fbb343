/**
 * What every part of the hub benchmark (bench/hub.ts) shares: its knobs, the hub process, gateway
 * provisioning, the publisher processes and the summaries of their reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CLI, startCliProcess, waitForPort } from './lib.js';
import { freePort } from '../test/support/ports.js';

export const PUBLISHERS = Number(process.env.RB_BENCH_PUBLISHERS ?? 4);
export const DURATION_S = Number(process.env.RB_BENCH_DURATION_S ?? 10);
export const WARMUP_S = Number(process.env.RB_BENCH_WARMUP_S ?? 3);
export const WINDOW = Number(process.env.RB_BENCH_WINDOW ?? 100);
export const CONNECTIONS = Number(process.env.RB_BENCH_CONNECTIONS ?? 10_000);
export const SAMPLE_EVERY = Number(process.env.RB_BENCH_SAMPLE_EVERY ?? 500);
/**
 * The publishers poll InfluxDB for every SAMPLE_EVERY-th event until it is visible (publish → visible)
 * only with RB_BENCH_POLL_STORED=1: that polling (~200 queries/s at 20k events/s) costs influxd and
 * the publishers CPU inside the hub's measured window that the Telegraf way's run does not pay. By
 * default the hub's stored latency is what its own `rb_influx_write_lag_seconds` says (event time →
 * write acknowledged by InfluxDB), the same thing the Telegraf way's subscriber times.
 */
export const POLL_STORED = process.env.RB_BENCH_POLL_STORED === '1';
export const ESTATE = 'bench-estate';
export const TOKEN = randomBytes(24).toString('base64url');
const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url));
export const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

export interface PubReport { from_ms: number; to_ms: number; sent: number; acked: number; p50_ack_ms: number; p99_ack_ms: number; samples: number; samples_seen: number; p50_stored_ms: number; p99_stored_ms: number }
export interface Creds { gateway: string; username: string; password: string }
/** One hub process: its CLI, its HTTP and MQTT URLs. */
export interface Hub { proc: ChildProcess; http: string; mqtt: string }
/** Which build runs the hub: this tree's or a baseline's (bench/hub-baseline.ts). */
export interface HubBuild { label: string; cli: string }
export const CURRENT: HubBuild = { label: 'current', cli: CLI };

/** Hub limits opened up for a benchmark: no per-gateway publish rate, no per-IP connect rate. */
const HUB_ENV = {
  RB_API_TOKEN: TOKEN,
  RB_MQTT_PUBLISH_RATE: '1000000', RB_MQTT_PUBLISH_BURST: '1000000',
  RB_MQTT_CONNECT_RATE_PER_IP: '1000000', RB_MQTT_CONNECT_BURST_PER_IP: '1000000',
  RB_MQTT_MAX_CONNECTIONS: String(Math.max(20_000, CONNECTIONS + 1000)),
};
/** Extra node flags for the hub process only, e.g. RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const HUB_NODE_ARGS = (process.env.RB_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** A hub on `dataDir`: events to InfluxDB (`influxUrl`), PostgreSQL (`dbUrl`) or else the embedded SQLite store. */
export async function startHub(build: HubBuild, dataDir: string, opts: { influxUrl?: string; dbUrl?: string } = {}): Promise<Hub> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const args = ['hub', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'];
  if (opts.influxUrl) args.push('--influx-url', opts.influxUrl);
  if (opts.dbUrl) args.push('--db-url', opts.dbUrl);
  const proc = startCliProcess(args, HUB_ENV, HUB_NODE_ARGS, build.cli);
  const alive = (): boolean => proc.exitCode === null;
  await waitForPort(httpPort, 30_000, alive);
  await waitForPort(mqttPort, 30_000, alive);
  return { proc, http: `http://127.0.0.1:${httpPort}`, mqtt: `mqtt://127.0.0.1:${mqttPort}` };
}

/** Provision through the admin REST API (the path an operator's tooling takes). */
export async function provision(http: string, gateway: string): Promise<Creds> {
  const res = await fetch(`${http}/api/v1/admin/gateways`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ estate: ESTATE, gateway }),
  });
  if (res.status !== 201) throw new Error(`provisioning ${gateway}: HTTP ${res.status} ${await res.text()}`);
  return { gateway, ...((await res.json()) as { username: string; password: string }) };
}

export const provisionAll = (http: string): Promise<Creds[]> => Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => provision(http, `gw-${i + 1}`)));

/** N publisher processes at once; resolves with their JSON reports. */
export function runPublishers(url: string, creds: Creds[], influx?: string): Promise<PubReport[]> {
  return Promise.all(creds.map((c) => new Promise<PubReport>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', PUBLISHER], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env, RB_PUB_URL: url, RB_PUB_ESTATE: ESTATE, RB_PUB_GATEWAY: c.gateway, RB_PUB_USERNAME: c.username, RB_PUB_PASSWORD: c.password,
        RB_PUB_WARMUP_MS: String(WARMUP_S * 1000), RB_PUB_DURATION_MS: String(DURATION_S * 1000), RB_PUB_WINDOW: String(WINDOW),
        RB_PUB_SAMPLE_EVERY: String(SAMPLE_EVERY), ...(influx ? { RB_PUB_INFLUX: influx } : {}),
      },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': stdout may still hold the report when the process has exited.
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PubReport) : reject(new Error(`publisher ${c.gateway} exited ${code}`))));
  })));
}

/**
 * Mean times the hub measures itself (/metrics, whole run): PUBLISH → verdict inside the hub, and
 * each ingest stage. Set against the publishers' ack latency, they say whether the wait is in the
 * hub's ingest or before it (sockets, the broker's parser, a busy CPU). NaN where a build lacks one.
 */
export async function hubIngestTimes(http: string): Promise<Record<string, number>> {
  const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  const mean = (name: string, labels = ''): number => {
    const get = (part: string): number => Number(new RegExp(`^${name}_${part}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return (get('sum') / get('count')) * 1000;
  };
  const out: Record<string, number> = { hub_mean_ack_ms: mean('rb_ingest_ack_seconds') };
  for (const stage of ['validate', 'queue', 'store', 'dedup']) out[`hub_mean_${stage}_ms`] = mean('rb_ingest_stage_seconds', `stage="${stage}"`);
  const batch = /^rb_ingest_batch_events_sum (\S+)$/m.exec(text)?.[1];
  const batches = /^rb_ingest_batch_events_count (\S+)$/m.exec(text)?.[1];
  out.hub_mean_batch_events = Number(batch) / Number(batches);
  return out;
}

export const sum = (rs: PubReport[], k: keyof PubReport): number => rs.reduce((a, r) => a + r[k], 0);
export const worst = (rs: PubReport[], k: keyof PubReport): number => Math.max(...rs.map((r) => r[k]));
export const mid = (rs: PubReport[], k: keyof PubReport): number => [...rs.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
