import { z } from 'zod';
import { parseDuration } from '../people/tokens.js';

/**
 * The keys of the hub config's `notify` section that the contact book, the ack links and SMS replies
 * read (issue 17). Merged into the `notify` schema of hub/notify/config.ts (each key described for
 * docs/configuration.md).
 */
export const NotifyLinksConfig = z.object({
  publicUrl: z
    .url({ protocol: /^https?$/, error: 'notify.publicUrl must be an http(s) URL, e.g. https://rb.example.gov.cn' })
    .optional()
    .describe('The address people reach the hub at from their phones (e.g. https://rb.example.gov.cn): one-tap acknowledge links in messages are {publicUrl}/a/{token}. Without it messages carry no link (the SMS reply code still acknowledges).'),
  ackLinkTtl: z
    .string()
    .default('24h')
    .refine((s) => {
      try {
        return parseDuration(s) >= 60_000 && parseDuration(s) <= 7 * 86_400_000;
      } catch {
        return false;
      }
    }, 'notify.ackLinkTtl is a duration from 1m to 7d, such as 30m, 12h or 24h')
    .describe('How long a one-tap acknowledge link stays valid after it was sent (a duration such as 30m, 12h, 24h; 1m to 7d).'),
  replyCode: z
    .string()
    .regex(/^[0-9A-Za-z]{1,4}$/, 'notify.replyCode is 1-4 letters or digits, e.g. 1')
    .default('1')
    .describe('What a person texts back to acknowledge their newest open alert (full-width digits count as the same).'),
  ackRateLimit: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(30)
    .describe('Requests to the acknowledge link page (/a/…) one IP address may make per minute; more are refused with RB_ERR_RATE_LIMITED.'),
});
export type NotifyLinksConfig = z.output<typeof NotifyLinksConfig>;
