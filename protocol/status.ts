import { z } from 'zod';
import { Id } from './ids.js';

/**
 * Gateway status on `rb/v1/{estate}/{gateway}/status`, retained. The same schema is the MQTT Last
 * Will: the broker publishes `{state: "offline", reason: "lwt"}` when the gateway vanishes.
 */
export const DeviceHealth = z
  .object({
    online: z.boolean(),
    lastSeen: z.number().int().nonnegative().optional().describe('ms since epoch of the last contact'),
    kind: z.enum(['access-gate', 'barrier-gate', 'onvif-camera']).optional().describe('Device kind (its driver folder); alert rules such as camera.offline use it'),
    name: z.string().max(100).optional().describe('Human name from the gateway config, e.g. "东门"; screens show it'),
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
  })
  .strict();

export type GatewayStatus = z.infer<typeof GatewayStatus>;
