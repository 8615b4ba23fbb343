import { clientIdFor } from '../../protocol/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pg from 'pg';
import { openDatabase, type HubDatabase } from '../../hub/platform/db/index.js';
import { loadSigningKey } from '../../hub/people/signing-key.js';
import { pino, type Logger } from 'pino';
import { ulid } from 'ulid';
import { mergeHubOverrides, resolveHubConfig, type HubConfigOverrides } from '../../hub/config.js';
import { createHub } from '../../hub/main.js';
import type { Hub, HubDeps } from '../../hub/hub-types.js';
import type { GatewayCredentials } from '../../hub/registry.js';
import type { EventStore } from '../../hub/store/types.js';
import type { EventType, RbEvent } from '../../protocol/index.js';

/**
 * A real hub for tests: its own temp data dir, the real aedes broker and HTTP server on 127.0.0.1
 * with kernel-chosen ports. Everything the helpers read (metrics, events) goes over real HTTP.
 */
export interface TestHub {
  readonly hub: Hub;
  readonly dataDir: string;
  /** `http://127.0.0.1:{port}` */
  readonly httpUrl: string;
  /** `mqtt://127.0.0.1:{port}` */
  readonly mqttUrl: string;
  readonly mqttPort: number;
  /** Register a gateway in the hub's registry; returns its MQTT credentials. */
  provision(estate: string, gateway: string): Promise<GatewayCredentials>;
  /**
   * Value of a metric from `GET /metrics`: the sum of every series of `name` whose labels include
   * `labels`; 0 when the metric exists but no such series has been recorded yet. Throws when the
   * hub does not expose `name` at all (a typo must not read as "0, as expected").
   */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** `GET /api/v1/events` with these query parameters (as the hub's API token); throws unless the answer is 200. */
  events(query?: Record<string, string | number>): Promise<RbEvent[]>;
  /** The hub's RB_API_TOKEN (built-in admin), unless started with `apiToken: null`. */
  readonly apiToken: string | undefined;
  /**
   * One REST call: JSON body in and out; `token` defaults to the API token, `null` sends none.
   * Never throws on an HTTP status.
   */
  api(method: string, path: string, opts?: { token?: string | null; body?: unknown }): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Add a user straight in the hub's people store and issue a token for it. */
  addUser(input: { name: string; role: 'volunteer' | 'patrol' | 'center' | 'admin'; scopes: string[]; password?: string; displayName?: string }): Promise<{ id: string; token: string }>;
  /** The hub's database opened a second time (as the admin CLI does): PostgreSQL in the PostgreSQL pass, else hub.db. The caller closes it. */
  openDatabase(): Promise<HubDatabase>;
  /** The hub's token signing key, read from its database (to forge or back-date tokens in tests). */
  signingKey(): Promise<Uint8Array>;
  /** connectGateway() against this hub; the client is ended by stop(). */
  connect(creds: GatewayCredentials, opts?: IClientOptions): Promise<MqttClient>;
  /** End the clients from connect(), stop the hub, remove the data dir. Idempotent. */
  stop(): Promise<void>;
}

export interface TestHubOptions {
  influxUrl?: string;
  maxPayloadBytes?: number;
  store?: EventStore;
  /** The hub's root logger (see captureLog); silent by default. */
  log?: Logger;
  /** Reuse this data dir (a restarted hub); it is then not removed by stop(). */
  dataDir?: string;
  /** Fixed ports (a restarted hub keeps its address); default 0 = any free port. */
  httpPort?: number;
  mqttPort?: number;
  /** Remember this many event ids for deduplication (default: the hub's default). */
  dedupWindow?: number;
  /** RB_API_TOKEN, the built-in admin token; default TEST_API_TOKEN, `null` = none. */
  apiToken?: string | null;
  /** Any other hub settings (nested: `{ mqtt: { maxRetainedBytes } }`...), as resolveHubConfig takes them. */
  config?: HubConfigOverrides;
  /** Live-state timing (offline hysteresis...): the hub config's `state` section. */
  state?: HubConfigOverrides['state'];
  /** Notification parts (createHub's `notify`): channel plugins, contact book, ack links, channels, a recording "send a test", callbacks. */
  notify?: HubDeps['notify'];
  /** The clock of work-order deadlines and whistles (createHub's `ordersNow`): tests move it forward. */
  ordersNow?: HubDeps['ordersNow'];
  /** Patrol rounds' clock (createHub's `patrol`). */
  patrol?: HubDeps['patrol'];
}

/** The API token a test hub has unless told otherwise (helpers such as events() send it). */
export const TEST_API_TOKEN = 'test-api-token-0123456789';

/**
 * The PostgreSQL pass of `npm test` (vitest.postgres.config.ts) starts one PostgreSQL 15 and sets
 * RB_TEST_PG_SERVER: every test hub then gets a database of its own on it (`db.url`), and a hub
 * restarted on the same data dir gets the same database again. Otherwise hubs use SQLite.
 */
const pgDatabases = new Map<string, string>();
async function testDatabaseUrl(dataDir: string): Promise<string | undefined> {
  const server = process.env.RB_TEST_PG_SERVER;
  if (!server) return undefined;
  const known = pgDatabases.get(dataDir);
  if (known) return known;
  const name = `hub_${process.pid}_${pgDatabases.size + 1}_${Date.now() % 1_000_000}`;
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = `${server}/${name}`;
  pgDatabases.set(dataDir, url);
  return url;
}

export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'rb-test-hub-')));
  const dbUrl = await testDatabaseUrl(dataDir);
  const apiToken = opts.apiToken === null ? undefined : (opts.apiToken ?? TEST_API_TOKEN);
  let hub: Hub;
  try {
    // env {}: RB_* variables of whoever runs the tests must not change what the tests exercise.
    const config = resolveHubConfig(
      mergeHubOverrides(
        {
          dataDir,
          host: '127.0.0.1',
          http: { port: opts.httpPort ?? 0 },
          mqtt: { port: opts.mqttPort ?? 0 },
          dedupWindow: opts.dedupWindow,
          auth: { apiToken },
          state: opts.state,
          db: { url: dbUrl },
        },
        opts.config ?? {},
        { logLevel: 'silent', influx: { url: opts.influxUrl }, maxPayloadBytes: opts.maxPayloadBytes },
      ),
      {},
      { ...(opts.notify?.channelPlugins ? { plugins: opts.notify.channelPlugins } : {}) },
    );
    hub = createHub({ config, log: opts.log ?? pino({ level: 'silent' }), ...(opts.store ? { store: opts.store } : {}), ...(opts.notify ? { notify: opts.notify } : {}), ...(opts.ordersNow ? { ordersNow: opts.ordersNow } : {}), ...(opts.patrol ? { patrol: opts.patrol } : {}) });
  } catch (err) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  try {
    await hub.start();
  } catch (err) {
    await hub.stop().catch(() => {});
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const httpUrl = `http://127.0.0.1:${hub.httpAddress().port}`;
  const mqttPort = hub.mqttAddress().port;
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  const clients = new Set<MqttClient>();
  let stopped = false;

  async function getText(path: string): Promise<string> {
    const res = await fetch(httpUrl + path, { signal: AbortSignal.timeout(5_000), headers: apiToken ? { authorization: `Bearer ${apiToken}` } : {} });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${body.slice(0, 500)}`);
    return body;
  }

  return {
    hub,
    dataDir,
    openDatabase: () => openDatabase({ url: dbUrl, file: join(dataDir, 'hub.db'), log: pino({ level: 'silent' }) }),
    async signingKey() {
      const db = await openDatabase({ url: dbUrl, file: join(dataDir, 'hub.db'), log: pino({ level: 'silent' }) });
      try {
        return await loadSigningKey(db);
      } finally {
        await db.close();
      }
    },
    httpUrl,
    mqttUrl,
    mqttPort,
    apiToken,
    provision: (estate, gateway) => hub.registry.addGateway(estate, gateway),
    async api(method, path, o = {}) {
      const token = o.token === undefined ? apiToken : (o.token ?? undefined);
      const res = await fetch(httpUrl + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { text };
      }
      return { status: res.status, json };
    },
    async addUser(input) {
      const user = await hub.people.users.add(input);
      return { id: user.id, token: (await hub.people.tokens.issue(user)).token };
    },
    async metric(name, labels = {}) {
      return metricValue(await getText('/metrics'), name, labels);
    },
    async events(query = {}) {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
      const body = JSON.parse(await getText(`/api/v1/events${qs ? `?${qs}` : ''}`)) as { items: RbEvent[] };
      return body.items;
    },
    async connect(creds, clientOpts) {
      const client = await connectGateway(mqttUrl, creds, clientOpts);
      clients.add(client);
      return client;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...clients].map((c) => endClient(c)));
      await hub.stop();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Parse Prometheus text exposition and sum the series of `name` that carry every label in `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  // A histogram's or summary's series (`_count`, `_sum`, `_bucket`) are typed under the base name.
  const base = name.replace(/_(count|sum|bucket)$/, '');
  if (!new RegExp(`^# TYPE (${name}|${base}) `, 'm').test(text)) throw new Error(`the hub exposes no metric ${name}`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** A gateway's mqtt.js connection as the gateway makes it: persistent session, no auto-reconnect. */
export function connectGateway(mqttUrl: string, creds: GatewayCredentials, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(mqttUrl, {
    username: creds.username,
    password: creds.password,
    clientId: clientIdFor(creds.estate, creds.gateway),
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...opts,
  });
}

/** Force-close a client (no DISCONNECT needed); resolves once its socket is gone. */
export async function endClient(client: MqttClient): Promise<void> {
  await Promise.race([client.endAsync(true), sleep(2_000)]);
}

export type PublishOutcome = 'acked' | 'closed' | 'timeout' | { error: string };

/**
 * Publish with QoS 1 and report what the broker did: PUBACK (`acked`), closed the connection
 * (`closed`: with a persistent session mqtt.js would keep waiting for a PUBACK forever), or neither
 * within `timeoutMs`.
 */
export function publishOutcome(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  timeoutMs = 5_000,
  opts: { retain?: boolean } = {},
): Promise<PublishOutcome> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve('closed');
    const finish = (outcome: PublishOutcome): void => {
      clearTimeout(timer);
      client.removeListener('close', onClose);
      resolve(outcome);
    };
    const onClose = (): void => finish('closed');
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1, retain: opts.retain === true }, (err) => finish(err ? { error: err.message } : 'acked'));
  });
}

/** SUBSCRIBE and return the SUBACK return codes (128 = refused), whether or not mqtt.js calls it an error. */
export function subscribeGranted(client: MqttClient, filter: string, timeoutMs = 5_000): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no SUBACK for ${filter} within ${timeoutMs} ms`)), timeoutMs);
    client.subscribe(filter, { qos: 1 }, (err, _granted, packet) => {
      clearTimeout(timer);
      const codes = packet?.granted ?? (err as (Error & { packet?: { granted?: number[] } }) | null)?.packet?.granted;
      if (codes) resolve(codes.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos)));
      else reject(err ?? new Error('SUBACK without return codes'));
    });
  });
}

let nextSeq = 1;

type Envelope = Omit<RbEvent, 'type' | 'data'>;

/**
 * A valid `door.forced` event with a fresh ULID, a growing seq and the current time; `overrides`
 * replace any field (estate/gateway/device default to `estate-a`/`gw-1`/`gate-1`).
 */
export function makeEvent(overrides: Partial<Envelope> & { type?: EventType; data?: Record<string, unknown> } = {}): RbEvent {
  return {
    v: 1,
    id: ulid(),
    seq: nextSeq++,
    ts: Date.now(),
    estate: 'estate-a',
    gateway: 'gw-1',
    device: 'gate-1',
    type: 'door.forced',
    data: { door: 1 },
    ...overrides,
  } as RbEvent;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger that keeps every line (parsed) in `lines`, for asserting on what the hub logs. */
export function captureLog(level = 'debug'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}
