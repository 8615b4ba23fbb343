import { z } from 'zod';

/**
 * The `options` block of a `hikvision-anpr` device in the gateway config. Push side: where the camera
 * posts (its "HTTP listening" host, `/ISAPI/Event/notification/httpHosts`) and which lane goes which
 * way. Command side: the camera's base URL and its Digest account (ISAPI authenticates with Digest).
 */
const LaneNo = z.number().int().min(1).max(16);

export const AnprOptions = z
  .object({
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]{0,127}$/, { message: 'must be a URL path such as /anpr/barrier-1' })
      .optional()
      .describe('Path the camera pushes to (its HTTP listening URL). Default: /anpr/<device id>'),
    allowFrom: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .min(1)
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
    offlineAfterMs: z
      .number()
      .int()
      .positive()
      .default(300_000)
      .describe('The camera counts as offline when nothing (read, status or heartbeat) arrived for this long'),
    keepPictures: z
      .number()
      .int()
      .min(0)
      .max(256)
      .default(32)
      .describe('Plate pictures kept in memory for the snapshot pipeline (the most recent ones)'),
    address: z
      .url({ protocol: /^https?$/ })
      .max(256)
      .refine((u) => {
        if (!URL.canParse(u)) return true; // already reported by z.url()
        const url = new URL(u);
        return !url.username && !url.password && !url.search && !url.hash;
      }, 'must be a base URL such as http://192.168.1.20, without credentials, query or fragment')
      .optional()
      .describe('Base URL of the camera for commands (barrier control, plate lists), e.g. http://192.168.1.20'),
    username: z
      .string()
      .regex(/^[\x20-\x7e]{1,64}$/, { message: 'must be 1-64 printable ASCII characters' })
      .optional()
      .describe('Camera account for commands (HTTP Digest)'),
    password: z.string().max(128).optional().describe('Password of that account; never logged'),
    listChannel: LaneNo.default(1).describe('ISAPI Traffic channel that holds the plate lists (1 on single-lane cameras)'),
    commandTimeoutMs: z
      .number()
      .int()
      .positive()
      .max(60_000)
      .default(5_000)
      .describe('Time the camera gets to answer one request (capped further by the command expiry)'),
  })
  .strict()
  .refine((o) => o.password === undefined || o.username !== undefined, {
    message: 'password given without username',
    path: ['username'],
  });

export type AnprOptions = z.infer<typeof AnprOptions>;
