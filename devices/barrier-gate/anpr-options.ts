import { z } from 'zod';
import { allowFrom, deviceBaseUrl, healthPollMs, devicePassword, deviceUsername, passwordNeedsUsername, positiveMs, pushPath } from '../common-options.js';

/**
 * The `options` block of a `hikvision-anpr` device in the gateway config. Push side: where the camera
 * posts (its "HTTP listening" host, `/ISAPI/Event/notification/httpHosts`) and which lane goes which
 * way. Command side: the camera's base URL and its Digest account (ISAPI authenticates with Digest).
 */
const LaneNo = z.number().int().min(1).max(16);

export const AnprOptions = z
  .object({
    path: pushPath('/anpr/barrier-1')
      .optional()
      .describe('Path the camera pushes to (its HTTP listening URL). Default: /anpr/<device id>'),
    allowFrom: allowFrom()
      .optional()
      .describe('Source IP addresses accepted; anything else gets 403. Default: any source'),
    lanes: z
      .array(z.object({ lane: LaneNo, direction: z.enum(['in', 'out']) }).strict())
      .max(16)
      .refine((ls) => new Set(ls.map((l) => l.lane)).size === ls.length, 'each lane may appear once')
      .default([])
      .describe('Which way each lane (ANPR <line>, barrier channel) goes; wins over the camera-reported direction'),
    defaultDirection: z
      .enum(['in', 'out'])
      .default('in')
      .describe('Direction of a read on a lane not listed in `lanes` when the camera reports none (or "unknown")'),
    offlineAfterMs: positiveMs(300_000)
      .describe('The camera counts as offline when nothing (read, status or heartbeat) arrived for this long'),
    keepPictures: z
      .number()
      .int()
      .min(0)
      .max(256)
      .default(32)
      .describe('Plate pictures kept in memory for the snapshot pipeline (the most recent ones)'),
    address: deviceBaseUrl('http://192.168.1.20')
      .optional()
      .describe('Base URL of the camera for commands (barrier control, plate lists), e.g. http://192.168.1.20'),
    username: deviceUsername()
      .optional()
      .describe('Camera account for commands (HTTP Digest)'),
    password: devicePassword().optional().describe('Password of that account; never logged'),
    listChannel: LaneNo.default(1).describe('ISAPI Traffic channel that holds the plate lists (1 on single-lane cameras)'),
    commandTimeoutMs: positiveMs(5_000, 60_000)
      .describe('Time the camera gets to answer one request (capped further by the command expiry)'),
    healthPollMs: healthPollMs(),
  })
  .strict()
  .refine(...passwordNeedsUsername);

export type AnprOptions = z.infer<typeof AnprOptions>;
