import { z } from 'zod';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../protocol/index.js';
import { ConfigError, deepFreeze, zodProblems } from '../lib/config-errors.js';

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
      .describe('Bearer token for reading snapshots until users and roles exist (env RB_API_TOKEN, >= 16 chars)'),
    maxSnapshotBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('Largest snapshot upload accepted (env RB_MAX_SNAPSHOT_BYTES)'),
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
  RB_MAX_PAYLOAD_BYTES: 'maxPayloadBytes',
  RB_MAX_RESULT_BYTES: 'maxResultBytes',
  RB_DEDUP_WINDOW: 'dedupWindow',
  RB_LOG_LEVEL: 'logLevel',
  RB_API_TOKEN: 'apiToken',
  RB_MAX_SNAPSHOT_BYTES: 'maxSnapshotBytes',
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
