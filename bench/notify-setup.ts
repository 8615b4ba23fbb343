/**
 * What the notification benchmark (bench/notify.ts) shares: the hub process with `notify.channels`
 * from a YAML config file, REST set-up (gateways, volunteers, contact points, on-duty exceptions, a
 * push subscription), gateway MQTT clients that publish forced doors, and the 5k ev/s background
 * publisher (bench/background.ts) as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import { monotonicFactory } from 'ulid';
import { stringify } from 'yaml';
import { clientIdFor, topics, type RbEvent } from '../protocol/index.js';
import { freePort } from '../test/support/ports.js';
import { startCliProcess, waitForPort } from './lib.js';

export const TOKEN = 'bench-notify-api-token-0123456789abcdef';
export const log = (msg: string): void => void process.stderr.write(`bench:notify: ${msg}\n`);

export interface NotifyHub { proc: ChildProcess; http: string; mqtt: string }

/** Extra node flags for the hub process, e.g. RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const HUB_NODE_ARGS = (process.env.RB_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** A hub process on `dir` with these channel instances; per-gateway and per-IP MQTT limits opened up. */
export async function startNotifyHub(dir: string, channels: Array<Record<string, unknown>>): Promise<NotifyHub> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, stringify({ timeZone: 'UTC', notify: { channels, pollMs: 1_000 } }));
  const proc = startCliProcess(
    ['hub', '--config', config, '--data-dir', join(dir, 'hub'), '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'],
    {
      RB_API_TOKEN: TOKEN,
      RB_MQTT_PUBLISH_RATE: '1000000', RB_MQTT_PUBLISH_BURST: '1000000',
      RB_MQTT_CONNECT_RATE_PER_IP: '1000000', RB_MQTT_CONNECT_BURST_PER_IP: '1000000',
    },
    HUB_NODE_ARGS,
  );
  const alive = (): boolean => proc.exitCode === null;
  await waitForPort(httpPort, 30_000, alive);
  await waitForPort(mqttPort, 30_000, alive);
  return { proc, http: `http://127.0.0.1:${httpPort}`, mqtt: `mqtt://127.0.0.1:${mqttPort}` };
}

/** One REST call; anything but 2xx throws with the body. */
export async function api(base: string, method: string, path: string, body?: unknown, token = TOKEN): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

export interface Creds { estate: string; gateway: string; username: string; password: string }

export async function provision(base: string, estate: string, gateway: string): Promise<Creds> {
  const c = await api(base, 'POST', '/api/v1/admin/gateways', { estate, gateway });
  return { estate, gateway, username: String(c.username), password: String(c.password) };
}

/**
 * A volunteer of `estate` on duty for the next hours (a roster `on` exception), with a phone number
 * on `channelId`. Returns her id and the token the hub issued on creation (her phone view's).
 */
export async function onDutyVolunteer(base: string, estate: string, name: string, phone: string, channelId: string): Promise<{ id: string; token: string }> {
  const created = await api(base, 'POST', '/api/v1/users', { name, role: 'volunteer', scopes: [`estate:${estate}`] });
  const id = String((created.user as { id: string }).id);
  await api(base, 'POST', `/api/v1/users/${id}/contacts`, { kind: 'phone', channelId, address: phone });
  const now = Date.now();
  await api(base, 'POST', '/api/v1/roster/exceptions', { user: id, estate, from: now - 60_000, to: now + 6 * 3600_000, kind: 'on' });
  return { id, token: String(created.token) };
}

/** `n` calls of `fn(i)`, at most `width` at a time. */
export async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, width) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

/** A gateway's MQTT session, as the gateway process keeps it (QoS 1, its own client id). */
export interface GatewayClient { client: MqttClient; forced(device: string): Promise<void> }

const nextId = monotonicFactory();

export async function gatewayClient(mqttUrl: string, c: Creds): Promise<GatewayClient> {
  const client = await mqtt.connectAsync(mqttUrl, { clientId: clientIdFor(c.estate, c.gateway), username: c.username, password: c.password, clean: true, reconnectPeriod: 0, keepalive: 60 });
  let seq = 0;
  return {
    client,
    async forced(device) {
      const ts = Date.now();
      const e = { v: 1, id: nextId(ts), seq: ++seq, ts, estate: c.estate, gateway: c.gateway, device, type: 'door.forced', data: { door: 1 } } as RbEvent;
      await client.publishAsync(topics.event(c.estate, c.gateway, device), JSON.stringify(e), { qos: 1 });
    },
  };
}

export interface Background { proc: ChildProcess; result: Promise<{ rate: number; acked: number }> }

/** bench/background.ts as another gateway: `rate` QoS 1 access.granted events/s until SIGTERM. */
export function startBackground(mqttUrl: string, c: Creds, rate: number): Promise<Background> {
  const proc = spawn(process.execPath, ['--import', 'tsx', new URL('./background.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RB_BG_URL: mqttUrl, RB_BG_ESTATE: c.estate, RB_BG_GATEWAY: c.gateway, RB_BG_USERNAME: c.username, RB_BG_PASSWORD: c.password, RB_BG_RATE: String(rate) },
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
