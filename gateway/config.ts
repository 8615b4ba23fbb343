import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { Id } from '../protocol/index.js';
import { driverRegistry } from '../devices/registry.js';
import { ConfigError, deepFreeze, keyPath, readYamlMapping, zodProblems, type ConfigProblem } from '../lib/config-errors.js';

const Device = z
  .object({
    id: Id.describe('Device id, unique within the gateway; part of MQTT topics'),
    driver: z.string().describe(`Driver name, one of the registry (e.g. "hikvision-isapi")`),
    name: z.string().max(100).optional().describe('Human name shown on screens, e.g. "东门"'),
    options: z.record(z.string(), z.unknown()).default({}).describe("Driver options; see the driver's docs"),
    cameras: z
      .array(Id)
      .max(8)
      .optional()
      .describe('Camera devices (ids in this config) whose snapshot (and, with video.clips.enabled, a clip) is taken when this device raises an alarm'),
  })
  .strict();

/** A duration of the video keys: 8s, 1500ms, 1m (gateway/video/duration.ts reads it). */
const VIDEO_DURATION = /^[1-9]\d{0,6}(ms|s|m)$/;
const CLIP_DEFAULTS = { enabled: true, quality: 'sub', before: '10s', after: '20s', maxPending: 200 } as const;
/** video.clips: alarm clips from the cameras devices link (docs/video.md, "Alarm clips"). */
const ClipsConfig = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('Record a clip around each alarm from the cameras a device lists in devices[].cameras; those cameras are then pulled all the time (a rolling buffer)'),
    quality: z.enum(['main', 'sub']).default('sub').describe('Which stream the clips are cut from: sub (smaller uploads) or main'),
    before: z.string().regex(VIDEO_DURATION, 'a duration such as 10s').default('10s').describe('How much of the clip comes before the alarm (the rolling buffer), e.g. 10s'),
    after: z.string().regex(VIDEO_DURATION, 'a duration such as 20s').default('20s').describe('How much of the clip comes after the alarm, e.g. 20s'),
    maxPending: z.number().int().min(1).max(10_000).default(200).describe('Clips kept for upload while the hub is unreachable; past it the oldest goes'),
  })
  .strict();


export const GatewayConfigSchema = z
  .object({
    estate: Id.describe('Estate id this gateway serves'),
    gateway: Id.describe('Gateway id, unique within the estate'),
    hub: z
      .object({
        url: z
          .string()
          .regex(/^(mqtt|mqtts|tcp|tls):\/\/[^\s,]+(\s*,\s*(mqtt|mqtts|tcp|tls):\/\/[^\s,]+)*$/, 'must be mqtt://host:port or mqtts://host:port, or several of them separated by commas')
          .describe(
            'Hub MQTT URL (mqtt://host:1883 or mqtts://host:8883); several hubs without a load balancer: the URLs separated by commas (mqtt://hub-a:1883,mqtt://hub-b:1883), tried in turn on each reconnect',
          ),
        httpUrl: z
          .string()
          .regex(/^https?:\/\/[^\s]+$/, 'must be http(s)://host:port')
          .optional()
          .describe('Hub HTTP URL, for incident snapshot uploads (needed when a device lists cameras); env RB_HUB_HTTP_URL'),
        username: z.string().min(1).describe('MQTT username printed by `red-butler hub gateway add`'),
        password: z.string().min(1).describe('MQTT password printed by `red-butler hub gateway add`'),
        keepaliveS: z.number().int().min(5).max(600).default(30).describe('MQTT keepalive, seconds'),
      })
      .strict(),
    privacy: z
      .object({
        salt: z.string().min(16).describe('Per-estate secret for hashing card numbers and face ids (>= 16 chars)'),
      })
      .strict(),
    devicePush: z
      .object({
        host: z.string().default('0.0.0.0').describe('Address the device push listener binds'),
        port: z.number().int().min(0).max(65535).default(8091).describe('Port devices push events to'),
        maxBodyBytes: z.number().int().min(1024).default(2 * 1024 * 1024).describe('Largest accepted push body'),
        requestTimeoutMs: z.number().int().min(100).default(10_000).describe('Total deadline of one push request'),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8091, maxBodyBytes: 2 * 1024 * 1024, requestTimeoutMs: 10_000 }),
    dataDir: z.string().min(1).default('./gateway-data').describe('Folder for the outbox and the command log; relative to the config file (env RB_GATEWAY_DATA_DIR)'),
    outbox: z
      .object({
        maxRecords: z.number().int().min(100).default(1_000_000).describe('Cap on waiting events; routine ones are dropped first'),
        maxBytes: z.number().int().min(64 * 1024).default(512 * 1024 * 1024).describe('Cap on the bytes of waiting events'),
        sync: z
          .enum(['normal', 'full'])
          .default('normal')
          .describe('SQLite synchronous mode: normal survives a process crash, full also a power cut (slower)'),
      })
      .strict()
      .default({ maxRecords: 1_000_000, maxBytes: 512 * 1024 * 1024, sync: 'normal' }),
    uplink: z
      .object({
        maxInflight: z.number().int().min(1).max(65_000).default(500).describe('Events published and not yet acknowledged'),
        backoffMinMs: z.number().int().min(10).default(500).describe('First reconnect delay (ms); doubles, with jitter'),
        backoffMaxMs: z.number().int().min(100).default(30_000).describe('Longest reconnect delay (ms)'),
      })
      .strict()
      .default({ maxInflight: 500, backoffMinMs: 500, backoffMaxMs: 30_000 }),
    commands: z
      .object({
        maxDurationMs: z.number().int().min(100).max(120_000).default(10_000).describe('Longest a device command may take'),
      })
      .strict()
      .default({ maxDurationMs: 10_000 }),
    heartbeatS: z.number().min(0.1).max(3600).default(30).describe('Seconds between status heartbeats'),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    metrics: z
      .object({
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .optional()
          .describe('Port of the local /metrics (Prometheus) and /healthz listener; absent (the default): no listener. 0 picks a free port (logged)'),
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('Address that listener binds: loopback, so only this machine reads it; 0.0.0.0 shows device names, models and errors to the whole network'),
      })
      .strict()
      .default({ host: '127.0.0.1' }),
    edge: z
      .object({
        alertAfterS: z
          .number()
          .min(1)
          .max(86_400)
          .default(60)
          .describe('Seconds without the hub after which the gateway texts the people on duty itself about critical events (forced door, tamper, blocklisted plate)'),
        repeatS: z.number().min(0).max(86_400).default(300).describe('The same rule on the same device texts again only after this many seconds'),
        gammu: z
          .object({
            smsdrc: z.string().min(1).default('/etc/gammu-smsdrc').describe("The local gammu-smsd's configuration (FILES backend; README, GSM modem through gammu-smsd)"),
            pidFile: z.string().min(1).optional().describe("gammu-smsd's pid file, to log when the daemon is not running"),
          })
          .strict()
          .default({ smsdrc: '/etc/gammu-smsdrc' }),
      })
      .strict()
      .optional()
      .describe('The edge warns on its own while the hub is unreachable (texts through a local GSM modem, duty list from the hub); absent: off'),
    video: z
      .object({
        enabled: z.boolean().default(true).describe('Relay live video (docs/video.md): one outbound WebSocket to hub.httpUrl; a camera is pulled only while someone watches it'),
        ffmpeg: z.string().min(1).default('ffmpeg').describe("The ffmpeg program that pulls RTSP and remuxes it (-c copy) into fragmented MP4 (Debian's ffmpeg)"),
        maxStreams: z.number().int().min(1).max(64).default(4).describe('Streams this gateway pulls at once; one more is answered RB_ERR_VIDEO_CAP'),
        maxSegmentBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .max(256 * 1024 * 1024)
          .default(8 * 1024 * 1024)
          .describe('Largest MP4 box (a key frame and its segment) from one camera; a bigger one stops the stream (RB_ERR_VIDEO_BROKEN)'),
        startTimeout: z.string().regex(VIDEO_DURATION, 'a duration such as 8s or 1500ms').default('8s').describe('A stream that sends no picture this long after it was asked for stops (RB_ERR_CAMERA_UNREACHABLE), e.g. 8s'),
        stallTimeout: z.string().regex(VIDEO_DURATION, 'a duration such as 10s or 1500ms').default('10s').describe('A running stream that sends no byte this long stops (RB_ERR_VIDEO_BROKEN), e.g. 10s'),
        clips: ClipsConfig.default(CLIP_DEFAULTS),
      })
      .strict()
      .default({ enabled: true, ffmpeg: 'ffmpeg', maxStreams: 4, maxSegmentBytes: 8 * 1024 * 1024, startTimeout: '8s', stallTimeout: '10s', clips: CLIP_DEFAULTS }),
    devices: z.array(Device).min(1).describe('Devices this gateway drives'),
  })
  .strict();

export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/** Environment overrides (`RB_<SECTION>_<KEY>`), applied before validation. */
const ENV: Array<[string, string[]]> = [
  ['RB_HUB_URL', ['hub', 'url']],
  ['RB_HUB_HTTP_URL', ['hub', 'httpUrl']],
  ['RB_HUB_USERNAME', ['hub', 'username']],
  ['RB_HUB_PASSWORD', ['hub', 'password']],
  ['RB_LOG_LEVEL', ['log', 'level']],
  ['RB_GATEWAY_DATA_DIR', ['dataDir']],
];

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const [name, path] of ENV) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node = raw;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
}

/** A device's `cameras` must name devices of this gateway whose driver can take a snapshot. */
function cameraLinkProblems(config: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const byId = new Map(config.devices.map((d) => [d.id, d]));
  config.devices.forEach((device, i) => {
    device.cameras?.forEach((camera, j) => {
      const target = byId.get(camera);
      const factory = target && driverRegistry.get(target.driver);
      if (!target) problems.push({ path: keyPath(['devices', i, 'cameras', j]), message: `no device "${camera}" in this config` });
      else if (!factory?.profile.commands.includes('camera.snapshot')) {
        problems.push({ path: keyPath(['devices', i, 'cameras', j]), message: `device "${camera}" (driver ${target.driver}) cannot take snapshots` });
      }
    });
    if (device.cameras?.length && !config.hub.httpUrl) {
      problems.push({ path: 'hub.httpUrl', message: `needed to upload the snapshots of devices[${i}].cameras` });
    }
  });
  return problems;
}

/** Validate a parsed config object; every problem is reported at once. The result is frozen. */
export function validateGatewayConfig(raw: unknown, source = 'config'): GatewayConfig {
  const problems: ConfigProblem[] = [];
  const parsed = GatewayConfigSchema.safeParse(raw);
  if (!parsed.success) problems.push(...zodProblems(parsed.error));

  // Per-device checks need the raw list, so they also run when other keys are wrong.
  const devices = (raw as { devices?: unknown } | null)?.devices;
  if (Array.isArray(devices)) {
    const seen = new Set<string>();
    devices.forEach((device: unknown, i) => {
      if (typeof device !== 'object' || device === null) return;
      const { id, driver, options } = device as { id?: unknown; driver?: unknown; options?: unknown };
      if (typeof id === 'string') {
        if (seen.has(id)) problems.push({ path: keyPath(['devices', i, 'id']), message: `duplicate device id "${id}"` });
        seen.add(id);
      }
      if (typeof driver !== 'string') return;
      const factory = driverRegistry.get(driver);
      if (!factory) {
        const known = [...driverRegistry.keys()].join(', ');
        problems.push({ path: keyPath(['devices', i, 'driver']), message: `unknown driver "${driver}" (known: ${known})` });
        return;
      }
      const opts = factory.options.safeParse(options ?? {});
      if (!opts.success) problems.push(...zodProblems(opts.error, ['devices', i, 'options']));
    });
  }
  if (parsed.success) problems.push(...cameraLinkProblems(parsed.data));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems);
  return deepFreeze(parsed.data);
}

/** Read, parse (YAML) and validate a gateway config file, with env overrides. */
export function loadGatewayConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw = readYamlMapping(file);
  applyEnv(raw, env);
  // dataDir (default "gateway-data") is relative to the config file, so the gateway finds its outbox
  // whatever folder it is started from.
  if (raw.dataDir === undefined || raw.dataDir === null) raw.dataDir = 'gateway-data';
  if (typeof raw.dataDir === 'string' && !isAbsolute(raw.dataDir)) raw.dataDir = resolve(dirname(file), raw.dataDir);
  return validateGatewayConfig(raw, file);
}
