import { z } from 'zod';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../protocol/index.js';
import { ConfigError, deepFreeze, zodProblems } from '../lib/config-errors.js';
import { isTimeZone } from './state/types.js';

export const HubConfigSchema = z
  .object({
    dataDir: z.string().min(1).describe('Folder for the registry, the embedded event store and other state (env RB_DATA_DIR)'),
    host: z.string().default('0.0.0.0').describe('Address the HTTP and MQTT listeners bind (env RB_HOST)'),
    httpPort: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port: API, pages, Socket.IO (env RB_HTTP_PORT)'),
    mqttPort: z.coerce.number().int().min(0).max(65535).default(1883).describe('MQTT port for gateways (env RB_MQTT_PORT)'),
    influxUrl: z
      .string()
      .url()
      .optional()
      .describe('InfluxDB 1.x URL with database, e.g. http://127.0.0.1:8086/redbutler; unset = embedded SQLite store (env RB_INFLUX_URL)'),
    influxBatchSize: z.coerce.number().int().min(1).max(100_000).default(5000).describe('Points per InfluxDB write request (env RB_INFLUX_BATCH_SIZE)'),
    influxFlushMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(100)
      .describe('Longest a point waits for its InfluxDB batch to fill while a write is in flight, ms (env RB_INFLUX_FLUSH_MS)'),
    influxRawRetention: z
      .string()
      .regex(/^(INF|[1-9]\d{0,5}[hdw])$/, 'an InfluxQL duration such as 30d, or INF')
      .default('30d')
      .describe('How long InfluxDB keeps raw events, e.g. 30d (env RB_INFLUX_RAW_RETENTION)'),
    influxHourlyRetention: z
      .string()
      .regex(/^(INF|[1-9]\d{0,5}[hdw])$/, 'an InfluxQL duration such as 104w, or INF')
      .default('104w')
      .describe('How long InfluxDB keeps the hourly event counts, e.g. 104w (env RB_INFLUX_HOURLY_RETENTION)'),
    maxPayloadBytes: z.coerce
      .number()
      .int()
      .min(256)
      .max(16 * 1024 * 1024)
      .default(DEFAULT_MAX_PAYLOAD_BYTES)
      .describe('Largest event payload accepted (env RB_MAX_PAYLOAD_BYTES)'),
    maxResultBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('Largest command result accepted; results may carry a base64 snapshot (env RB_MAX_RESULT_BYTES)'),
    dedupWindow: z.coerce.number().int().min(1000).default(200_000).describe('Event ids remembered for deduplication (env RB_DEDUP_WINDOW)'),
    apiToken: z
      .string()
      .min(16)
      .optional()
      .describe('Bearer token accepted as a built-in admin over every estate, for scripts and tests (env RB_API_TOKEN, >= 16 chars)'),
    tokenTtl: z
      .string()
      .regex(/^[1-9]\d{0,5}[smhd]$/, 'a duration such as 30m, 1h, 12h or 7d')
      .default('1h')
      .describe('How long a user token (JWT) issued by login, refresh or `hub user add` stays valid, e.g. 1h (env RB_TOKEN_TTL)'),
    refreshTtl: z
      .string()
      .regex(/^[1-9]\d{0,5}[smhd]$/, 'a duration such as 12h, 7d or 30d')
      .default('30d')
      .describe(
        'How long a refresh token from login stays valid without use, e.g. 30d: each use rotates it and starts its lifetime again, so a phone used within that time stays signed in (env RB_REFRESH_TTL)',
      ),
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai')
      .describe('Time zone of duty rosters (weekly shifts), quiet hours and "today" (env RB_TIME_ZONE)'),
    maxSnapshotBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('Largest snapshot upload accepted (env RB_MAX_SNAPSHOT_BYTES)'),
    mqttMaxPacketBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(268_435_455)
      .optional()
      .describe('Largest MQTT packet (Remaining Length) accepted from a connected gateway; bigger ones close the connection before they are buffered. Default: max(maxPayloadBytes, maxResultBytes) + 64 KiB (env RB_MQTT_MAX_PACKET_BYTES)'),
    mqttMaxConnectBytes: z.coerce
      .number()
      .int()
      .min(256)
      .max(1024 * 1024)
      .default(8 * 1024)
      .describe('Largest MQTT packet accepted before CONNACK, i.e. the unauthenticated CONNECT (env RB_MQTT_MAX_CONNECT_BYTES)'),
    mqttConnectTimeoutMs: z.coerce
      .number()
      .int()
      .min(100)
      .max(300_000)
      .default(10_000)
      .describe('A connection that has not completed CONNECT (or the TLS handshake) by then is closed (env RB_MQTT_CONNECT_TIMEOUT_MS)'),
    mqttMaxConnections: z.coerce.number().int().min(1).default(10_000).describe('Open MQTT connections (TCP and TLS together) above which new ones are closed at once (env RB_MQTT_MAX_CONNECTIONS)'),
    mqttConnectRatePerIp: z.coerce.number().min(0.1).default(20).describe('CONNECT attempts per second allowed from one IP address; more get CONNACK 3 (env RB_MQTT_CONNECT_RATE_PER_IP)'),
    mqttConnectBurstPerIp: z.coerce.number().int().min(1).default(200).describe('CONNECT attempts one IP address may make at once before its rate applies (env RB_MQTT_CONNECT_BURST_PER_IP)'),
    mqttPublishRate: z.coerce
      .number()
      .min(1)
      .default(2_000)
      .describe('PUBLISH packets per second per gateway; over it the hub reads the gateway more slowly (delays, never drops) (env RB_MQTT_PUBLISH_RATE)'),
    mqttPublishBurst: z.coerce.number().int().min(1).default(10_000).describe('PUBLISH packets a gateway may send at once before its rate applies (env RB_MQTT_PUBLISH_BURST)'),
    mqttMaxRetainedBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024)
      .describe(
        'Largest gateway status the broker keeps as the retained message of its status topic, the only topic it retains (one message per gateway); a bigger status is still ingested when valid, but not retained (env RB_MQTT_MAX_RETAINED_BYTES)',
      ),
    mqttTlsPort: z.coerce.number().int().min(0).max(65535).default(8883).describe('MQTT over TLS port, used when tlsCert and tlsKey are set (env RB_MQTT_TLS_PORT)'),
    tlsCert: z.string().min(1).optional().describe('PEM certificate (chain) file for the MQTT TLS listener; set together with tlsKey (env RB_TLS_CERT)'),
    tlsKey: z.string().min(1).optional().describe('PEM private key file for the MQTT TLS listener (env RB_TLS_KEY)'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level (env RB_LOG_LEVEL)'),
  })
  .strict();

export type HubConfig = z.infer<typeof HubConfigSchema>;
export type HubConfigInput = z.input<typeof HubConfigSchema>;

const ENV: Record<string, keyof HubConfigInput> = {
  RB_DATA_DIR: 'dataDir',
  RB_HOST: 'host',
  RB_HTTP_PORT: 'httpPort',
  RB_MQTT_PORT: 'mqttPort',
  RB_INFLUX_URL: 'influxUrl',
  RB_INFLUX_BATCH_SIZE: 'influxBatchSize',
  RB_INFLUX_FLUSH_MS: 'influxFlushMs',
  RB_INFLUX_RAW_RETENTION: 'influxRawRetention',
  RB_INFLUX_HOURLY_RETENTION: 'influxHourlyRetention',
  RB_MAX_PAYLOAD_BYTES: 'maxPayloadBytes',
  RB_MAX_RESULT_BYTES: 'maxResultBytes',
  RB_DEDUP_WINDOW: 'dedupWindow',
  RB_LOG_LEVEL: 'logLevel',
  RB_MQTT_MAX_PACKET_BYTES: 'mqttMaxPacketBytes',
  RB_MQTT_MAX_CONNECT_BYTES: 'mqttMaxConnectBytes',
  RB_MQTT_CONNECT_TIMEOUT_MS: 'mqttConnectTimeoutMs',
  RB_MQTT_MAX_CONNECTIONS: 'mqttMaxConnections',
  RB_MQTT_CONNECT_RATE_PER_IP: 'mqttConnectRatePerIp',
  RB_MQTT_CONNECT_BURST_PER_IP: 'mqttConnectBurstPerIp',
  RB_MQTT_PUBLISH_RATE: 'mqttPublishRate',
  RB_MQTT_PUBLISH_BURST: 'mqttPublishBurst',
  RB_MQTT_MAX_RETAINED_BYTES: 'mqttMaxRetainedBytes',
  RB_MQTT_TLS_PORT: 'mqttTlsPort',
  RB_TLS_CERT: 'tlsCert',
  RB_TLS_KEY: 'tlsKey',
  RB_API_TOKEN: 'apiToken',
  RB_MAX_SNAPSHOT_BYTES: 'maxSnapshotBytes',
  RB_TOKEN_TTL: 'tokenTtl',
  RB_REFRESH_TTL: 'refreshTtl',
  RB_TIME_ZONE: 'timeZone',
};

/**
 * Build the hub config from defaults < environment < explicit options (CLI flags). Every problem is
 * reported at once with its key and environment variable; the result is frozen.
 */
export function resolveHubConfig(options: Partial<HubConfigInput>, env: NodeJS.ProcessEnv = process.env): HubConfig {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  for (const [key, value] of Object.entries(options)) if (value !== undefined) raw[key] = value;
  const parsed = HubConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(ENV).map(([e, k]) => [k, e]));
    const problems = zodProblems(parsed.error).map((p) => ({
      path: p.path,
      message: byKey[p.path] ? `${p.message} (flag or env ${byKey[p.path]})` : p.message,
    }));
    throw new ConfigError('hub config', problems);
  }
  return deepFreeze(parsed.data);
}
