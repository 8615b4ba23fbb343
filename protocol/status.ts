import { z } from 'zod';
import { Id } from './ids.js';

/**
 * Gateway status on `rb/v1/{estate}/{gateway}/status`, retained. The same schema is the MQTT Last
 * Will: the broker publishes `{state: "offline", reason: "lwt"}` when the gateway vanishes.
 */
const Text = (max: number) => z.string().max(max);

export const DeviceInfo = z
  .object({
    manufacturer: Text(64).optional(),
    model: Text(64).optional(),
    firmware: Text(64).optional(),
    serial: Text(64).optional(),
    hardwareId: Text(64).optional(),
  })
  .strict()
  .describe('Make, model and firmware as the device reports them (ONVIF GetDeviceInformation)');

export const DeviceWarning = z
  .object({
    code: z.enum(['pull-early']).describe('pull-early: the camera answers PullMessages at once instead of holding it; the gateway paces its pulls'),
    message: Text(200),
    since: z.number().int().nonnegative().describe('When the warning was first raised, ms since epoch'),
  })
  .strict();

export const DeviceHealth = z
  .object({
    online: z.boolean().describe('True only when an authenticated call to the device succeeded lately'),
    state: z
      .enum(['online', 'offline', 'auth-failed'])
      .optional()
      .describe('online; offline (no answer); auth-failed (answers but refuses the configured credentials). Absent: online/offline by `online`'),
    lastSeen: z.number().int().nonnegative().optional().describe('ms since epoch of the last contact'),
    error: Text(200).optional().describe('The last error, one line (never a credential)'),
    info: DeviceInfo.optional(),
    warnings: z.array(DeviceWarning).max(8).optional().describe('Misbehaviour the gateway works around'),
    kind: z.enum(['access-gate', 'barrier-gate', 'onvif-camera']).optional().describe('Device kind (its driver folder); alert rules such as camera.offline use it'),
    name: z.string().max(100).optional().describe('Human name from the gateway config, e.g. "东门"; screens show it'),
    cameras: z.array(Id).max(16).optional().describe('Cameras linked in the gateway config: its alarms come with their snapshots'),
  })
  .strict();

export const OutboxHealth = z
  .object({
    depth: z.number().int().nonnegative().describe('Events waiting for the hub'),
    alarms: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    oldestAgeS: z.number().nonnegative().nullable().describe('Age of the oldest waiting event, s'),
    droppedTotal: z.number().int().nonnegative().describe('Routine events dropped at the caps, ever'),
    droppedSinceStart: z.number().int().nonnegative(),
    pressure: z.boolean().describe('At a cap or disk full, dropping routine events'),
  })
  .strict();

export const GatewayStatus = z
  .object({
    v: z.literal(1),
    estate: Id,
    gateway: Id,
    state: z.enum(['online', 'offline']),
    ts: z.number().int().nonnegative().describe('When this status was produced, ms since epoch'),
    reason: z.enum(['startup', 'connected', 'heartbeat', 'shutdown', 'lwt']).optional(),
    version: z.string().max(64).optional().describe('Gateway software version'),
    uptimeS: z.number().nonnegative().optional(),
    devices: z.record(Id, DeviceHealth).optional().describe('Per-device health, keyed by device id'),
    outbox: OutboxHealth.optional(),
    lastHubContact: z.number().int().nonnegative().nullable().optional().describe('ms since epoch the hub last answered'),
    reconnects: z.number().int().nonnegative().optional().describe('Connections lost since start'),
    edge: z
      .object({ sms: z.boolean().describe('A local GSM modem (gammu-smsd) is configured: the gateway texts the people on duty while the hub is away') })
      .strict()
      .optional()
      .describe("The edge's own warnings; absent on gateways without them. The hub sends its duty list only to gateways with `sms`"),
  })
  .strict();

export type GatewayStatus = z.infer<typeof GatewayStatus>;
