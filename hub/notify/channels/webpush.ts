import { createHash } from 'node:crypto';
import type WebPush from 'web-push';
import { z } from 'zod';
import { ChannelError, type Channel, type ChannelDeps, type ChannelPlugin, type OutgoingMessage, type SendOutcome } from '../channel.js';
import { vapidKeys, type VapidKeys } from '../webpush-store.js';
import { lazyRequire } from '../../../lib/lazy.js';

const webpush = lazyRequire<typeof WebPush>('web-push');

/**
 * Web Push (RFC 8030 delivery, RFC 8291 aes128gcm payload encryption, RFC 8292 VAPID) to the phone
 * view installed as a PWA. The kept library `web-push` encrypts and signs; this plugin carries the
 * request itself (fetch, so the outbox's AbortSignal ends it) and maps the push service's answer.
 *
 * Push services have no idempotency key: a retry after a crash between the service's 201 and the
 * outbox's commit shows the notification twice (the same `Topic` replaces a copy still queued at the
 * service, not one already shown; the service worker shows it under the message id as `tag`, so the
 * second copy replaces the first on the phone instead of stacking).
 */

const B64URL = /^[A-Za-z0-9_-]+$/;
/** How long a VAPID token is signed for (RFC 8292: at most 24 hours). */
const TOKEN_LIFE_S = 12 * 3600;

export const WebPushConfig = z
  .object({
    publicKey: z
      .string()
      .regex(B64URL)
      .refine((s) => Buffer.from(s, 'base64url').length === 65, 'must be 65 bytes (an uncompressed P-256 point), base64url')
      .optional()
      .describe('VAPID public key (base64url, e.g. from `npx web-push generate-vapid-keys`). Unset: a pair is made once and kept in the hub database, the same for every node and restart.'),
    privateKey: z
      .string()
      .regex(B64URL)
      .refine((s) => Buffer.from(s, 'base64url').length === 32, 'must be 32 bytes, base64url')
      .optional()
      .describe('VAPID private key (base64url), with publicKey. A secret: never logged or shown.'),
    subject: z
      .string()
      .regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'must be a mailto: address or an https: URL')
      .describe('VAPID subject (RFC 8292 "sub"): how a push service operator reaches you, e.g. mailto:ops@example.org.'),
    ttlSeconds: z.number().int().min(0).max(2_419_200).default(3600).describe('How long a push service keeps a message for a phone that is offline (RFC 8030 TTL), seconds.'),
    perMinute: z.number().int().min(1).default(600).describe('Pushes per minute this channel sends at most (the outbox keeps to it).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!!c.publicKey !== !!c.privateKey) ctx.addIssue({ code: 'custom', path: [c.publicKey ? 'privateKey' : 'publicKey'], message: 'publicKey and privateKey go together (or leave both out)' });
  });
export type WebPushConfig = z.output<typeof WebPushConfig>;

/** What the service worker gets (web/src/sw.ts): small, well under the 4 KB a push message carries. */
export interface WebPushPayload {
  id: string;
  alertId: string;
  title: string;
  body: string;
  severity: number;
  /** The one-tap ack link: POST to it acknowledges (absent for test messages). */
  ackUrl?: string;
  /** Where 查看 opens: the alert in the phone view (a path of the hub). */
  url: string;
}

/** Longest payload JSON in bytes: RFC 8291 leaves 3993 bytes of plaintext in one 4096-byte record. */
export const MAX_PAYLOAD_BYTES = 3072;

export function payloadOf(msg: OutgoingMessage): WebPushPayload {
  const url = msg.alertId.startsWith('test:') ? '/me' : `/me?alert=${encodeURIComponent(msg.alertId)}`;
  const base: WebPushPayload = { id: msg.id, alertId: msg.alertId, title: msg.title, body: msg.text, severity: msg.severity, url, ...(msg.ackUrl ? { ackUrl: msg.ackUrl } : {}) };
  let body = msg.text;
  while (Buffer.byteLength(JSON.stringify({ ...base, body })) > MAX_PAYLOAD_BYTES) body = `${[...body].slice(0, Math.max(0, [...body].length - 64)).join('')}…`;
  return { ...base, body };
}

/** RFC 8030 §5.4: up to 32 base64url characters; one per alert, so a newer push replaces a queued older one. */
export const topicOf = (alertId: string): string => createHash('sha256').update(alertId).digest('base64url').slice(0, 32);

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms. */
function retryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What the service said, without anything that looks like a token (a JWT) or a key. */
async function said(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).slice(0, 300);
  return text.replace(/[A-Za-z0-9_-]{16,}(\.[A-Za-z0-9_-]{8,}){1,2}/g, '[token]').replace(/[A-Za-z0-9_-]{40,}/g, '[key]').replace(/\s+/g, ' ').trim();
}

export function createWebPushChannel(id: string, config: WebPushConfig, deps: ChannelDeps): Channel {
  const now = deps.now ?? Date.now;
  if (!config.publicKey && !deps.db) throw new Error(`notify.channels[${id}]: set publicKey and privateKey, or give the channel the hub database to keep a generated pair in`);
  let keys: Promise<VapidKeys> | undefined;
  // RFC 8292 lets a token serve many requests: one per push service origin, signed for 12 hours and
  // used for 11, instead of an ES256 signature per message.
  const tokens = new Map<string, { authorization: string; until: number }>();
  const vapidHeader = (origin: string, k: VapidKeys): string => {
    const t = now();
    const cached = tokens.get(origin);
    if (cached && cached.until > t) return cached.authorization;
    const expS = Math.floor(t / 1000) + TOKEN_LIFE_S;
    const { Authorization } = webpush().getVapidHeaders(origin, config.subject, k.publicKey, k.privateKey, 'aes128gcm', expS) as { Authorization: string };
    tokens.set(origin, { authorization: Authorization, until: t + (TOKEN_LIFE_S - 3600) * 1000 });
    return Authorization;
  };
  const keysNow = () => (keys ??= vapidKeys(deps.db!, config).catch((err) => {
    keys = undefined;
    throw err;
  }));

  return {
    type: 'webpush',
    id,
    accepts: ['push'],
    perMinute: config.perMinute,
    async send(msg, { signal }): Promise<SendOutcome> {
      if (msg.to.kind !== 'push') throw new ChannelError('RB_ERR_NOTIFY_REJECTED', `webpush sends to push subscriptions, not to a ${msg.to.kind} address`);
      const sub = msg.to.subscription;
      let origin: string;
      try {
        origin = new URL(sub.endpoint).origin;
      } catch {
        throw new ChannelError('RB_ERR_NOTIFY_GONE', 'the subscription endpoint is not a URL');
      }
      let k: VapidKeys;
      try {
        k = await keysNow();
      } catch (err) {
        throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `the VAPID key pair could not be read from the hub database: ${(err as Error).message}`);
      }
      let details: ReturnType<typeof WebPush.generateRequestDetails>;
      try {
        details = webpush().generateRequestDetails(sub, JSON.stringify(payloadOf(msg)), {
          headers: { Authorization: vapidHeader(origin, k) },
          TTL: config.ttlSeconds,
          urgency: msg.severity >= 3 ? 'high' : 'normal',
          topic: topicOf(msg.alertId),
          contentEncoding: 'aes128gcm',
        });
      } catch (err) {
        // A subscription whose keys are not a P-256 point / 16-byte secret can never be pushed to.
        const text = String((err as Error).message ?? err).replace(/[A-Za-z0-9_-]{40,}/g, '[key]');
        throw new ChannelError('RB_ERR_NOTIFY_REJECTED', `the push message could not be built: ${text}`);
      }
      let res: Response;
      try {
        res = await fetch(details.endpoint, { method: 'POST', headers: details.headers as Record<string, string>, body: details.body ?? undefined, signal, redirect: 'manual' });
      } catch (err) {
        if (signal.aborted) throw new ChannelError('RB_ERR_NOTIFY_TIMEOUT', `the push service ${origin} did not answer in time`);
        throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `the push service ${origin} could not be reached: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
      }
      const status = res.status;
      if (status >= 200 && status < 300) {
        await res.arrayBuffer().catch(() => undefined);
        await deps.pushSubscriptions?.succeeded(sub.endpoint, now()).catch((err: unknown) => deps.log.warn({ err }, 'webpush: last success not recorded'));
        // RFC 8030 §5: the Location of the push message resource names the message.
        const location = res.headers.get('location');
        return { state: 'sent', ...(location ? { providerId: location.slice(0, 256) } : {}) };
      }
      const text = await said(res);
      const what = `the push service ${origin} answered ${status}${text ? `: ${text}` : ''}`;
      if (status === 404 || status === 410) {
        await deps.pushSubscriptions?.gone(sub.endpoint).catch((err: unknown) => deps.log.warn({ err }, 'webpush: dead subscription not dropped'));
        throw new ChannelError('RB_ERR_NOTIFY_GONE', `${what} (the subscription has expired or was unsubscribed; it is dropped)`);
      }
      if (status === 429) throw new ChannelError('RB_ERR_NOTIFY_RATE_LIMITED', what, retryAfter(res.headers.get('retry-after'), now()));
      if (status >= 500) throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', what, retryAfter(res.headers.get('retry-after'), now()));
      if (status === 400 || status === 401 || status === 403) throw new ChannelError('RB_ERR_NOTIFY_AUTH', `${what} (VAPID refused: check notify.channels[${id}].publicKey/privateKey/subject; a subscription made with another key must subscribe again)`);
      throw new ChannelError('RB_ERR_NOTIFY_REJECTED', what);
    },
  };
}

export const webpushPlugin: ChannelPlugin<typeof WebPushConfig> = {
  type: 'webpush',
  config: WebPushConfig,
  secrets: ['privateKey'],
  create: createWebPushChannel,
};
