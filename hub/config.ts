import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../protocol/index.js';
import { ConfigError, deepFreeze, keyPath, readYamlMapping, zodProblems, type ConfigProblem } from '../lib/config-errors.js';
import { envValue, leavesOf, type ConfigLeaf } from './config-env.js';
import { isTimeZone } from './state/types.js';
import type { ChannelPlugin } from './notify/channel.js';
import { CHANNEL_PLUGINS } from './notify/channels/index.js';
import { checkChannels, NotifyConfigSchema } from './notify/config.js';
import { PatrolSchema } from './patrol/config.js';
import { OrdersConfigSchema } from './orders/config.js';
import { checkDepartments } from './orders/deadlines.js';
import { ResidentsConfigSchema } from './residents/config.js';
import { VideoConfigSchema } from './video/config.js';

/**
 * The hub's configuration: nested sections, each key `.describe()`d. Sources, lowest first: defaults <
 * YAML file (`red-butler hub --config FILE`) < environment < flags. Every key has an environment variable
 * derived from its path (`mqtt.publishRate` → `RB_MQTT_PUBLISH_RATE`, see envName in hub/config-env.ts); a
 * few names of the flat config before it keep working as aliases (ENV_ALIASES there). docs/configuration.md is generated from it.
 */

const port = (fallback: number) => z.number().int().min(0).max(65535).default(fallback);
const DURATION = /^[1-9]\d{0,5}[smhd]$/;
const INFLUX_DURATION = /^(INF|[1-9]\d{0,5}[hdw])$/;

const HttpSchema = z
  .object({
    host: z.string().min(1).optional().describe('Address the HTTP listener binds; default: `host`'),
    port: port(8080).describe('HTTP port: API, pages, Socket.IO'),
    trustProxy: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Proxies whose X-Forwarded-For the hub believes (Express `trust proxy`): addresses or subnets separated by commas, or loopback / linklocal / uniquelocal, e.g. '127.0.0.1, 10.0.0.0/8'. Unset: the header is ignored and the client is the TCP peer (login limits per address then see the balancer)",
      ),
  })
  .strict();

const MqttSchema = z
  .object({
    host: z.string().min(1).optional().describe('Address the MQTT listeners (plain and TLS) bind; default: `host`'),
    port: port(1883).describe('MQTT port for gateways'),
    tlsPort: port(8883).describe('MQTT over TLS port, used when mqtt.tls.cert and mqtt.tls.key are set'),
    maxPacketBytes: z
      .number()
      .int()
      .min(1024)
      .max(268_435_455)
      .optional()
      .describe(
        'Largest MQTT packet (Remaining Length) accepted from a connected gateway; bigger ones close the connection before they are buffered. Default: max(maxPayloadBytes, maxResultBytes) + 64 KiB',
      ),
    maxConnectBytes: z.number().int().min(256).max(1024 * 1024).default(8 * 1024).describe('Largest MQTT packet accepted before CONNACK, i.e. the unauthenticated CONNECT'),
    connectTimeoutMs: z.number().int().min(100).max(300_000).default(10_000).describe('A connection that has not completed CONNECT (or the TLS handshake) by then is closed'),
    proxyProtocol: z
      .boolean()
      .default(false)
      .describe(
        'The plain MQTT listener takes connections only from a balancer that sends a PROXY protocol v2 header (HAProxy `send-proxy-v2`): per-IP limits and logs then see the client address it carries; a connection without the header is closed. The TLS listener is unaffected',
      ),
    maxConnections: z.number().int().min(1).default(10_000).describe('Open MQTT connections (TCP and TLS together) above which new ones are closed at once'),
    connectRatePerIp: z.number().min(0.1).default(20).describe('CONNECT attempts per second allowed from one IP address; more get CONNACK 3'),
    connectBurstPerIp: z.number().int().min(1).default(200).describe('CONNECT attempts one IP address may make at once before its rate applies'),
    publishRate: z.number().min(1).default(2_000).describe('PUBLISH packets per second per gateway; over it the hub reads the gateway more slowly (delays, never drops)'),
    publishBurst: z.number().int().min(1).default(10_000).describe('PUBLISH packets a gateway may send at once before its rate applies'),
    maxRetainedBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024)
      .describe(
        'Largest gateway status the broker keeps as the retained message of its status topic, the only topic it retains (one message per gateway); a bigger status is still ingested when valid, but not retained',
      ),
    tls: z
      .object({
        cert: z.string().min(1).optional().describe('PEM certificate (chain) file for the MQTT TLS listener; set together with mqtt.tls.key'),
        key: z.string().min(1).optional().describe('PEM private key file for the MQTT TLS listener'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const DbSchema = z
  .object({
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, 'must be postgres://user:password@host:port/database')
      .optional()
      .describe('PostgreSQL URL (postgres://user:password@host:5432/db); unset = the embedded SQLite file {dataDir}/hub.db'),
  })
  .strict();

const InfluxSchema = z
  .object({
    url: z.url().optional().describe('InfluxDB 1.x URL with database, e.g. http://127.0.0.1:8086/redbutler; unset = embedded SQLite store'),
    batchSize: z.number().int().min(1).max(100_000).default(5000).describe('Points per InfluxDB write request'),
    flushMs: z.number().int().min(0).max(10_000).default(100).describe('Longest an event waits for its InfluxDB batch to fill, ms (larger batches cost InfluxDB less per point)'),
    maxBacklog: z
      .number()
      .int()
      .min(1000)
      .max(10_000_000)
      .default(200_000)
      .describe('Events acknowledged but neither in InfluxDB nor in its spool past which the hub stops acknowledging (the gateways keep them)'),
    rawRetention: z.string().regex(INFLUX_DURATION, 'an InfluxQL duration such as 30d, or INF').default('30d').describe('How long InfluxDB keeps raw events, e.g. 30d'),
    hourlyRetention: z.string().regex(INFLUX_DURATION, 'an InfluxQL duration such as 104w, or INF').default('104w').describe('How long InfluxDB keeps the hourly event counts, e.g. 104w'),
  })
  .strict();

const EventLogSchema = z
  .object({
    maxAgeDays: z.number().int().min(1).max(3650).default(30).describe('Event-log entries older than this are deleted once every consumer has read them'),
    hardCapRows: z
      .number()
      .int()
      .min(1000)
      .default(1_000_000)
      .describe('Past this many event-log entries the oldest are deleted even if a consumer has not read them (a warning, rb_event_log_forced_deletes_total)'),
  })
  .strict();

const PushSchema = z
  .object({
    retention: z.string().regex(DURATION, 'a duration such as 12h or 7d').default('7d').describe('How long the replay log of live push keeps a message, e.g. 7d'),
    maxRows: z.number().int().min(1000).default(2_000_000).describe('Messages the replay log keeps in all; the oldest go first'),
    replayLimit: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(5000)
      .describe('Missed messages a reconnecting screen is sent; above it the screen is told to reload over REST (`resync`)'),
    flushMs: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(5)
      .describe('Longest a live message waits to be written to the replay log with others, ms; alert changes never wait (they commit with the alert)'),
  })
  .strict();

const AuthSchema = z
  .object({
    apiToken: z.string().min(16).optional().describe('Bearer token accepted as a built-in admin over every estate, for scripts and tests (>= 16 chars)'),
    tokenTtl: z
      .string()
      .regex(DURATION, 'a duration such as 30m, 1h, 12h or 7d')
      .default('1h')
      .describe('How long a user token (JWT) issued by login, refresh or `hub user add` stays valid, e.g. 1h'),
    refreshTtl: z
      .string()
      .regex(DURATION, 'a duration such as 12h, 7d or 30d')
      .default('30d')
      .describe(
        'How long a refresh token from login stays valid without use, e.g. 30d: each use rotates it and starts its lifetime again, so a phone used within that time stays signed in',
      ),
    loginMaxFailures: z.number().int().min(1).max(1000).default(5).describe('Failed logins one name may make from one address within auth.loginWindow before it is refused'),
    loginWindow: z.string().regex(DURATION, 'a duration such as 15m or 1h').default('15m').describe('Window of auth.loginMaxFailures, e.g. 15m; a refused pair may try again when its oldest failure leaves it'),
  })
  .strict();

const StateSchema = z
  .object({
    offlineAfterMs: z.number().int().min(0).default(60_000).describe('Live state declares a device offline after it stays offline this long, ms (hysteresis)'),
    onlineAfterMs: z.number().int().min(0).default(5_000).describe('Live state declares a device online again after it stays online this long, ms'),
    coalesceMs: z.number().int().min(0).default(250).describe('At most one live-state push per key within this window, ms; the last value wins'),
    maxEstates: z.number().int().min(1).default(10_000).describe('Estates held in live state'),
    maxDevicesPerEstate: z.number().int().min(1).default(2_000).describe('Devices per estate held in live state'),
  })
  .strict();

const ClusterSchema = z
  .object({
    nodeId: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}')
      .optional()
      .describe('Name of this hub node (reserved for the hub cluster); default: derived from the host name'),
    redisUrl: z
      .string()
      .regex(/^redis:\/\/.+/, 'must be redis://[:password@]host:port')
      .optional()
      .describe(
        'Redis of the hub cluster (redis://[:password@]host:6379); set: the MQTT broker keeps sessions and passes messages between nodes through it (a command reaches a gateway on any node), and /readyz also needs Redis to answer PING within 2 s. Unset = no Redis (one hub)',
      ),
    brokerHeartbeatMs: z
      .number()
      .int()
      .min(200)
      .max(600_000)
      .default(60_000)
      .describe('How often the MQTT broker tells the other nodes it is alive (cluster only); a node silent for 3 of them is dead, and the others publish the Last Wills of its gateways that did not connect again'),
    orphanWillGraceMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(60_000)
      .describe('A Last Will of a dead node\'s gateway waits this long, ms (cluster only): shown offline only if the gateway was not heard from meanwhile (a node cut from Redis looks dead while its gateways still deliver through it)'),
    leaseTtl: z
      .string()
      .regex(DURATION, 'a duration such as 10s or 1m')
      .default('10s')
      .describe('Partition lease lifetime on PostgreSQL (renewed every third of it): how long a dead node\'s estates wait for another node, e.g. 10s'),
  })
  .strict();

export const HubConfigSchema = z
  .object({
    dataDir: z.string().min(1).default('./data').describe('Folder for the hub database, snapshots and other state; in a file, relative to the file'),
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP and MQTT listeners bind, unless http.host or mqtt.host say otherwise'),
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai')
      .describe('Time zone of duty rosters (weekly shifts), quiet hours, "today" and the live occupancy reset'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level'),
    maxPayloadBytes: z.number().int().min(256).max(16 * 1024 * 1024).default(DEFAULT_MAX_PAYLOAD_BYTES).describe('Largest event payload accepted'),
    maxResultBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('Largest command result accepted; results may carry a base64 snapshot'),
    maxSnapshotBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024).describe('Largest snapshot upload accepted'),
    dedupWindow: z.number().int().min(1000).default(200_000).describe('Event-log entries kept at least; their event ids stay duplicates'),
    http: HttpSchema.prefault({}).describe('HTTP listener: API, pages, Socket.IO'),
    mqtt: MqttSchema.prefault({}).describe('MQTT broker for gateways'),
    db: DbSchema.prefault({}).describe('Hub database'),
    influx: InfluxSchema.prefault({}).describe('InfluxDB event store'),
    eventLog: EventLogSchema.prefault({}).describe('Durable event log (hub.db): retention'),
    push: PushSchema.prefault({}).describe('Replay log of live push'),
    auth: AuthSchema.prefault({}).describe('Tokens and logins'),
    state: StateSchema.prefault({}).describe('Live state'),
    cluster: ClusterSchema.prefault({}).describe('Hub cluster (reserved)'),
    notify: NotifyConfigSchema.prefault({}).describe('Reaching people off-screen: channels and the notification outbox (docs/notifications.md)'),
    orders: OrdersConfigSchema.prefault({}).describe('Work orders (工单): docs/work-orders.md'),
    patrol: PatrolSchema.prefault({}).describe('Patrol rounds (巡更): checkpoints with QR codes, scheduled rounds, missed-checkpoint alerts (docs/work-orders.md)'),
    residents: ResidentsConfigSchema.prefault({}).describe('Resident reports without an account: the page /r/{estate}, follow links, the QR poster (docs/work-orders.md)'),
    video: VideoConfigSchema.prefault({}).describe('Live video: the relay from the gateways and the viewers (docs/video.md)'),
  })
  .strict();

type Parsed = z.output<typeof HubConfigSchema>;
/** The resolved, frozen hub config: listener hosts and the node id are filled in. */
export type HubConfig = Omit<Parsed, 'http' | 'mqtt' | 'cluster'> & {
  http: Parsed['http'] & { host: string };
  mqtt: Parsed['mqtt'] & { host: string };
  cluster: { nodeId: string; redisUrl?: string | undefined; leaseTtl: string; brokerHeartbeatMs: number; orphanWillGraceMs: number };
};
export type HubConfigInput = z.input<typeof HubConfigSchema>;
type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | undefined } : T;
/** Explicit settings (CLI flags, tests): any subset of the nested keys; `undefined` = not set. */
export type HubConfigOverrides = DeepPartial<HubConfigInput>;

/** Every key of the hub config with its environment variable(s), in schema order (docs, errors). */
export const HUB_CONFIG_KEYS: readonly ConfigLeaf[] = leavesOf(HubConfigSchema);
const byPath = new Map(HUB_CONFIG_KEYS.map((l) => [l.path, l]));

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const key of parts.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function mergeDefined(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (typeof target[key] !== 'object' || target[key] === null || Array.isArray(target[key])) target[key] = {};
      mergeDefined(target[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else target[key] = value;
  }
}

/** Layers of overrides merged key by key, later ones winning; `undefined` values do not count. */
export function mergeHubOverrides(...layers: HubConfigOverrides[]): HubConfigOverrides {
  const out: Record<string, unknown> = {};
  for (const layer of layers) mergeDefined(out, layer as Record<string, unknown>);
  return out as HubConfigOverrides;
}

function readFile(file: string): Record<string, unknown> {
  const out = readYamlMapping(file);
  // Paths in a file are relative to the file, so the hub finds them whatever folder it is started from.
  const base = dirname(resolve(file));
  const rel = (v: unknown) => (typeof v === 'string' && v !== '' && !isAbsolute(v) ? resolve(base, v) : v);
  if (out.dataDir !== undefined) out.dataDir = rel(out.dataDir);
  const tls = (out.mqtt as { tls?: Record<string, unknown> } | undefined)?.tls;
  if (tls && typeof tls === 'object') for (const k of ['cert', 'key']) if (tls[k] !== undefined) tls[k] = rel(tls[k]);
  return out;
}

/** Node id from the host name: lower case, [a-z0-9-] only, at most 64. */
export function defaultNodeId(name = hostname()): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return id || 'hub';
}

export interface ResolveHubConfigOptions {
  /** YAML config file (`--config`); absent = defaults, environment and flags only. */
  file?: string | undefined;
  /** Channel plugins `notify.channels[].type` may name; default hub/notify/channels/index.ts. */
  plugins?: readonly ChannelPlugin[];
}

/**
 * Build the hub config from defaults < YAML file < environment < `overrides` (CLI flags). Every
 * problem is reported at once with its key path and environment variable; the result is frozen.
 */
export function resolveHubConfig(overrides: HubConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env, opts: ResolveHubConfigOptions = {}): HubConfig {
  const source = opts.file ?? 'hub config';
  const raw: Record<string, unknown> = opts.file ? readFile(opts.file) : {};
  for (const leaf of HUB_CONFIG_KEYS) {
    const name = [leaf.env, ...leaf.aliases].find((n) => env[n] !== undefined && env[n] !== '');
    if (name) setPath(raw, leaf.path, envValue(leaf, env[name]!));
  }
  mergeDefined(raw, overrides as Record<string, unknown>);
  const parsed = HubConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, problemsOf(parsed.error).map(withEnv));
  const c = parsed.data;
  const problems: ConfigProblem[] = [];
  if ((c.mqtt.tls.cert === undefined) !== (c.mqtt.tls.key === undefined)) {
    problems.push(withEnv({ path: c.mqtt.tls.cert ? 'mqtt.tls.key' : 'mqtt.tls.cert', message: 'mqtt.tls.cert and mqtt.tls.key are set together' }));
  }
  problems.push(...checkChannels(c.notify.channels, opts.plugins ?? CHANNEL_PLUGINS));
  problems.push(...checkDepartments(c.orders.departments, c.notify.channels.map((ch) => ch.id)).map(withEnv));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze({
    ...c,
    http: { ...c.http, host: c.http.host ?? c.host },
    mqtt: { ...c.mqtt, host: c.mqtt.host ?? c.host },
    cluster: { nodeId: c.cluster.nodeId ?? defaultNodeId(), redisUrl: c.cluster.redisUrl, leaseTtl: c.cluster.leaseTtl, brokerHeartbeatMs: c.cluster.brokerHeartbeatMs, orphanWillGraceMs: c.cluster.orphanWillGraceMs },
  });
}

/** zod's problems, an unknown key named by its own path (`mqtt.publishRat: unknown key`). */
function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: keyPath([...issue.path, key]), message: 'unknown key' }))
      : zodProblems(new z.ZodError([issue])),
  );
}

function withEnv(p: ConfigProblem): ConfigProblem {
  const leaf = byPath.get(p.path);
  return leaf ? { path: p.path, message: `${p.message} (env ${[leaf.env, ...leaf.aliases].join(' or ')})` } : p;
}
