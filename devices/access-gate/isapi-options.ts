import { z } from 'zod';
import { allowFrom, deviceBaseUrl, healthPollMs, devicePassword, deviceUsername, passwordNeedsUsername, positiveMs, pushPath } from '../common-options.js';

/**
 * The `options` block of a `hikvision-isapi` device in the gateway config. Push side: where the
 * device posts and from where. Command side: the device's own base URL and its Digest account
 * (ISAPI devices authenticate with HTTP Digest; see devices/http-digest.ts).
 */
export const IsapiOptions = z
  .object({
    path: pushPath('/isapi/gate-1')
      .optional()
      .describe('Path the device pushes to (its HTTP listening URL). Default: /isapi/<device id>'),
    allowFrom: allowFrom()
      .optional()
      .describe('Source IP addresses accepted; anything else gets 403. Default: any source'),
    offlineAfterMs: positiveMs(90_000)
      .describe('The device counts as offline when nothing (event or heartbeat) arrived for this long'),
    address: deviceBaseUrl('http://192.168.1.10')
      .optional()
      .describe('Base URL of the device for commands (ISAPI door control), e.g. http://192.168.1.10'),
    username: deviceUsername()
      .optional()
      .describe('Device account for commands (HTTP Digest)'),
    password: devicePassword().optional().describe('Password of that account; never logged'),
    commandTimeoutMs: positiveMs(5_000, 60_000)
      .describe('Total time a device gets to answer one command (capped further by the command expiry)'),
    healthPollMs: healthPollMs(),
  })
  .strict()
  .refine(...passwordNeedsUsername);

export type IsapiOptions = z.infer<typeof IsapiOptions>;
