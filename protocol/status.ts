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
  })
  .strict();

export type GatewayStatus = z.infer<typeof GatewayStatus>;
