import { z } from 'zod';
import { allowFrom, positiveMs } from '../common-options.js';

/**
 * The `options` block of a `zkteco-adms` device in the gateway config. The device is set up (menu
 * "Cloud Server Setting" / ADMS) to poll the gateway's push listener; it names itself by its serial
 * number (`SN=` on every request), which is how the shared `/iclock` route finds this driver.
 */
export const ZktecoOptions = z
  .object({
    serialNumber: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, { message: 'must be the device serial number (letters, digits, _ and -)' })
      .describe('Serial number the device sends as SN= (device menu: System Info)'),
    allowFrom: allowFrom()
      .optional()
      .describe('Source IP addresses accepted for this serial number; anything else gets 403. Default: any source'),
    offlineAfterMs: positiveMs(90_000)
      .describe('The device counts as offline when no request (poll or post) arrived for this long'),
    commandTimeoutMs: positiveMs(30_000, 120_000)
      .describe('Time a command gets to be fetched by the next poll and confirmed (capped by the command expiry)'),
    pollDelayS: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(2)
      .describe('Delay= handed to the device at handshake: seconds between its getrequest polls'),
    openSeconds: z
      .number()
      .int()
      .min(1)
      .max(254)
      .default(5)
      .describe('How long door.open releases the lock, seconds (CONTROL DEVICE duration)'),
    utcOffsetMinutes: z
      .number()
      .int()
      .min(-14 * 60)
      .max(14 * 60)
      .default(480)
      .describe("The device clock's UTC offset in minutes (rtlog times carry none). Default +08:00"),
  })
  .strict();

export type ZktecoOptions = z.infer<typeof ZktecoOptions>;
