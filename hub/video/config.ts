import { z } from 'zod';

const DURATION = /^[1-9]\d{0,5}(ms|s|m)$/;

/**
 * The hub config's `video` section (issue 20, docs/video.md): the relay from the gateways and the
 * viewers' WebSockets. Caps are per hub node.
 */
export const VideoConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Live video: the gateways\' relay links (/api/v1/video/relay) and the viewers\' WebSockets (/api/v1/video/live); false refuses both upgrades (404)'),
    linger: z
      .string()
      .regex(DURATION, 'a duration such as 500ms, 5s or 1m')
      .default('5s')
      .describe('How long a stream stays open after its last viewer leaves (a viewer who switches back within it starts at once); then the hub tells the gateway to stop pulling it'),
    openTimeout: z
      .string()
      .regex(DURATION, 'a duration such as 500ms, 10s or 1m')
      .default('10s')
      .describe('A stream the gateway has not answered `opened` for within this time ends for its viewers with RB_ERR_CAMERA_UNREACHABLE'),
    keepAlive: z
      .string()
      .regex(DURATION, 'a duration such as 500ms, 20s or 1m')
      .default('20s')
      .describe('The hub pings every relay link and viewer socket this often; one that has not answered the previous ping is dropped (a dead TCP link is noticed within twice this)'),
    maxViewersPerStream: z.number().int().min(1).max(10_000).default(8).describe('Viewers of one camera stream (one quality) on this hub node; one more is refused with RB_ERR_VIDEO_CAP'),
    maxStreamsPerEstate: z.number().int().min(1).max(10_000).default(4).describe('Camera streams relayed at once for one estate on this hub node; one more is refused with RB_ERR_VIDEO_CAP'),
    maxBytesPerSecondPerEstate: z
      .number()
      .int()
      .min(1000)
      .max(10_000_000_000)
      .default(3_000_000)
      .describe('Bytes per second relayed from one estate, measured over 5 s; over it the estate\'s newest stream is stopped (RB_ERR_VIDEO_CAP) and no new stream starts'),
    maxViewerBufferBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(1024 * 1024 * 1024)
      .default(4 * 1024 * 1024)
      .describe('A viewer whose socket holds more unsent bytes than this skips media segments until it drains (then resumes at the next key frame); the other viewers never wait'),
    clips: z
      .object({
        retention: z
          .string()
          .regex(/^[1-9]\d{0,4}(m|h|d)$/, 'a duration such as 12h or 30d')
          .default('30d')
          .describe('How long alarm clips are kept after they reach the hub (checked hourly), e.g. 30d'),
        maxBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .max(1024 * 1024 * 1024)
          .default(64 * 1024 * 1024)
          .describe('Largest alarm clip a gateway may upload; a bigger one is refused with 413'),
      })
      .strict()
      .prefault({})
      .describe('Alarm clips the gateways record around alarms (docs/video.md, "Alarm clips")'),
  })
  .strict();

export type VideoConfig = z.output<typeof VideoConfigSchema>;

/** '500ms' | '5s' | '1m' → ms. */
export function videoDuration(v: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(v);
  if (!m) throw new Error(`bad duration ${v}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}
