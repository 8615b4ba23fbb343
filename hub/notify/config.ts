import { z } from 'zod';
import type { ConfigProblem } from '../../lib/config-errors.js';
import type { ChannelPlugin } from './channel.js';
import { NotifyLinksConfig } from './config-links.js';

/**
 * The hub config's `notify` section (hub/config.ts references it): the public base URL of people's
 * links, the configured channel instances, and how the outbox sends (timeout, retries, caps).
 * Each channel instance is `{id, type, …}`: `type` names a plugin of hub/notify/channels/index.ts
 * and the other keys are checked against that plugin's own schema (checkChannels below), so an error
 * names the key path, e.g. `notify.channels[2].secret`.
 */

const ChannelInstance = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}')
      .describe('This instance\'s name, unique in the config; contact routes and outbox rows refer to it'),
    type: z.string().min(1).describe('The channel plugin (hub/notify/channels), e.g. sms-aliyun, wecom-robot, webpush, gammu, webhook'),
  })
  .catchall(z.unknown());

export const NotifyConfigSchema = z
  .object({
    // publicUrl, ackLinkTtl, replyCode, ackRateLimit: the ack links' and SMS replies' keys (config-links.ts).
    ...NotifyLinksConfig.shape,
    channels: z
      .array(ChannelInstance)
      .default([])
      .describe(
        'Configured channel instances, each {id, type, …its plugin\'s keys} (docs/notifications.md); as an environment variable: a JSON array',
      ),
    sendTimeoutMs: z.number().int().min(100).max(300_000).default(10_000).describe('Longest one send may take before it is aborted and retried, ms'),
    retry: z
      .object({
        baseMs: z.number().int().min(10).max(600_000).default(2_000).describe('First retry delay of a failed send, ms; doubles per attempt, with ±20% jitter'),
        maxMs: z.number().int().min(10).max(3_600_000).default(120_000).describe('Longest retry delay, ms (a provider\'s Retry-After may ask for longer)'),
        attempts: z.number().int().min(1).max(50).default(6).describe('Attempts per notification (the first included) before it fails for good'),
      })
      .strict()
      .prefault({})
      .describe('Retries of retryable send errors (provider down, timeout, rate limited)'),
    maxPerAlert: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(200)
      .describe('Notifications one alert may queue across all levels and channels; more are recorded as skipped (fan-out cap)'),
    voiceLevels: z
      .array(z.number().int().min(0).max(3))
      .max(4)
      .default([])
      .describe(
        'Escalation levels (0-3) that "call by voice": a person\'s fallback routes (voice calls) are used at once with their other routes; at other levels only after those failed. As an environment variable: a JSON array, e.g. [2,3]',
      ),
    pollMs: z
      .number()
      .int()
      .min(50)
      .max(600_000)
      .default(5_000)
      .describe('How often the dispatcher looks for due rows besides being woken (rows queued by another process), ms'),
  })
  .strict();

export type NotifyConfig = z.output<typeof NotifyConfigSchema>;
export type ChannelInstanceConfig = z.output<typeof ChannelInstance>;

/**
 * Check each channel instance against its plugin's schema: unknown `type`, duplicate `id`, and every
 * key problem of the plugin's own schema, each with its full key path.
 */
export function checkChannels(channels: readonly ChannelInstanceConfig[], plugins: readonly ChannelPlugin[], prefix = 'notify.channels'): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const types = plugins.map((p) => p.type);
  channels.forEach((c, i) => {
    const at = `${prefix}[${i}]`;
    if (seen.has(c.id)) problems.push({ path: `${at}.id`, message: `duplicate channel id ${JSON.stringify(c.id)}` });
    seen.add(c.id);
    const plugin = plugins.find((p) => p.type === c.type);
    if (!plugin) {
      problems.push({ path: `${at}.type`, message: `unknown channel type ${JSON.stringify(c.type)}; known: ${types.length ? types.join(', ') : '(none)'}` });
      return;
    }
    const parsed = plugin.config.safeParse(ownKeys(c));
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') for (const key of issue.keys) problems.push({ path: at + suffix([...issue.path, key]), message: 'unknown key' });
        else problems.push({ path: at + suffix(issue.path), message: issue.message });
      }
    }
  });
  return problems;
}

/** An instance's keys for its plugin: everything but `id` and `type`. */
export function ownKeys(c: ChannelInstanceConfig): Record<string, unknown> {
  const { id: _id, type: _type, ...rest } = c;
  return rest;
}

/** `['secret']` → `.secret`, `['to', 0]` → `.to[0]`. */
const suffix = (path: readonly PropertyKey[]): string => path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
