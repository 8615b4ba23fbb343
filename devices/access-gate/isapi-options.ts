import { z } from 'zod';

/**
 * The `options` block of a `hikvision-isapi` device in the gateway config. Push side: where the
 * device posts and from where. Command side: the device's own base URL and its Digest account
 * (ISAPI devices authenticate with HTTP Digest; see devices/http-digest.ts).
 */
export const IsapiOptions = z
  .object({
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]{0,127}$/, { message: 'must be a URL path such as /isapi/gate-1' })
      .optional()
      .describe('Path the device pushes to (its HTTP listening URL). Default: /isapi/<device id>'),
    allowFrom: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .min(1)
      .optional()
      .describe('Source IP addresses accepted; anything else gets 403. Default: any source'),
    offlineAfterMs: z
      .number()
      .int()
      .positive()
      .default(90_000)
      .describe('The device counts as offline when nothing (event or heartbeat) arrived for this long'),
    address: z
      .url({ protocol: /^https?$/ })
      .max(256)
      .refine((u) => {
        if (!URL.canParse(u)) return true; // already reported by z.url()
        const url = new URL(u);
        return !url.username && !url.password && !url.search && !url.hash;
      }, 'must be a base URL such as http://192.168.1.10, without credentials, query or fragment')
      .optional()
      .describe('Base URL of the device for commands (ISAPI door control), e.g. http://192.168.1.10'),
    username: z
      .string()
      .regex(/^[\x20-\x7e]{1,64}$/, { message: 'must be 1-64 printable ASCII characters' })
      .optional()
      .describe('Device account for commands (HTTP Digest)'),
    password: z.string().max(128).optional().describe('Password of that account; never logged'),
    commandTimeoutMs: z
      .number()
      .int()
      .positive()
      .max(60_000)
      .default(5_000)
      .describe('Total time a device gets to answer one command (capped further by the command expiry)'),
  })
  .strict()
  .refine((o) => o.password === undefined || o.username !== undefined, {
    message: 'password given without username',
    path: ['username'],
  });

export type IsapiOptions = z.infer<typeof IsapiOptions>;
