import { z } from 'zod';

/** The poster's CJK font (Debian: fonts-wqy-microhei). */
export const DEFAULT_POSTER_FONT = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';

/**
 * The hub config's `residents` section (issue 19): the public report page /r/{estate}, the follow
 * link and the QR poster. The link on the poster is {notify.publicUrl}/r/{estate}.
 */
export const ResidentsConfigSchema = z
  .object({
    reportsPerAddressPerHour: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(30)
      .describe('Reports one IP address may file per hour (the last hour, sliding); more are answered 429 with Retry-After. Many phones share a carrier address: keep it well above one household'),
    reportsPerBrowserPerHour: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(6)
      .describe('Reports one browser (a cookie the report form sets) may file per hour; more are answered 429 with Retry-After'),
    followPerAddressPerMinute: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(60)
      .describe('Requests to follow links (/r/f/…) one IP address may make per minute; more are answered 429 with Retry-After'),
    maxPhotoBytes: z
      .number()
      .int()
      .min(16 * 1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('Largest photo accepted with a report, bytes (at most three photos); a bigger one is refused with a page that says so'),
    maxBodyBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(26 * 1024 * 1024)
      .describe('Largest report (the whole form with its photos), bytes; a bigger one is refused before it is read'),
    posterFont: z
      .string()
      .min(1)
      .default(DEFAULT_POSTER_FONT)
      .describe('A TTF or TTC font file with Chinese glyphs for the QR poster (PDF); the PNG uses its family WenQuanYi Micro Hei through fontconfig. Debian: apt install fonts-wqy-microhei'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.maxBodyBytes < c.maxPhotoBytes) ctx.addIssue({ code: 'custom', path: ['maxBodyBytes'], message: 'residents.maxBodyBytes must be at least residents.maxPhotoBytes' });
  });
export type ResidentsConfig = z.output<typeof ResidentsConfigSchema>;
