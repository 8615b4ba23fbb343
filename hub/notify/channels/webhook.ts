import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Channel, ChannelDeps, ChannelPlugin, OutgoingMessage, SendOptions, SendOutcome } from '../channel.js';
import { fail, httpRequest, snippet, type Call } from './http.js';

/**
 * A generic signed JSON webhook, for anything else (e.g. the street's own platform). Each message is
 *
 *   POST {url}
 *   Content-Type: application/json
 *   X-RedButler-Timestamp: <unix seconds>
 *   X-RedButler-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed by the shared secret>
 *   Idempotency-Key: <message id>          (the same on every retry of one notification)
 *
 *   {id, alertId, severity, title, text, params, ackUrl, lang, to}
 *
 * The receiver answers 2xx when it took the message (optionally `{"id": "…"}`, kept as the provider
 * id); 429 (with Retry-After) when it wants us to slow down; 401/403 when the signature or secret is
 * wrong; 404/410 when this endpoint is gone; 409 while it is still processing the same key; other
 * 4xx when it refuses this message; 5xx when it failed. docs/notifications.md shows a receiver;
 * `verifyWebhook` below is the check to copy.
 */

export const webhookConfig = z.object({
  url: z.url().describe('The receiver\'s HTTPS address (http:// only on a trusted network). Put no credential in it: the shared secret signs each request.'),
  secret: z.string().min(16).describe('The shared secret both sides keep (at least 16 characters, e.g. `openssl rand -hex 32`). A secret.'),
  perMinute: z.number().int().positive().default(600).describe('Messages a minute the outbox sends to this receiver (no provider limit applies: set what the receiver can take).'),
});
export type WebhookConfig = z.output<typeof webhookConfig>;

export const WEBHOOK_HEADERS = {
  timestamp: 'x-redbutler-timestamp',
  signature: 'x-redbutler-signature',
  idempotencyKey: 'idempotency-key',
} as const;

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${rawBody}`). */
export function signWebhook(secret: string, timestampS: number | string, rawBody: string | Buffer): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${timestampS}.`, 'utf8');
  mac.update(rawBody);
  return `sha256=${mac.digest('hex')}`;
}

export type WebhookVerdict = { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

/**
 * The receiver's check (copy it to the receiving platform): the signature over the RAW body bytes as
 * received (before any JSON parsing), compared in constant time, and a timestamp within `toleranceS`
 * of the receiver's clock so a captured request cannot be replayed later. Deduplicate on the
 * Idempotency-Key header as well: a retry of one notification carries the same key.
 */
export function verifyWebhook(input: {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string | Buffer;
  /** Receiver's clock, ms since epoch. */
  now?: number;
  /** Allowed clock difference, seconds (default 300). */
  toleranceS?: number;
}): WebhookVerdict {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const ts = one(input.headers[WEBHOOK_HEADERS.timestamp]);
  const sig = one(input.headers[WEBHOOK_HEADERS.signature]);
  if (!ts || !sig || !/^\d{1,12}$/.test(ts) || !/^sha256=[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'missing' };
  const now = input.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(ts)) > (input.toleranceS ?? 300)) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(signWebhook(input.secret, ts, input.rawBody), 'utf8');
  const given = Buffer.from(sig, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'mismatch' };
  return { ok: true, timestamp: Number(ts) };
}

/** The JSON body of one message. */
export function webhookPayload(msg: OutgoingMessage): Record<string, unknown> {
  return {
    id: msg.id,
    alertId: msg.alertId,
    severity: msg.severity,
    title: msg.title,
    text: msg.text,
    params: msg.params,
    ackUrl: msg.ackUrl ?? null,
    lang: msg.lang,
    to: msg.to,
  };
}

class Webhook implements Channel {
  readonly type = 'webhook';
  readonly accepts = ['group', 'phone', 'wecom-user'] as const;
  readonly perMinute: number;
  private readonly now: () => number;
  constructor(
    readonly id: string,
    private readonly c: WebhookConfig,
    deps: ChannelDeps,
  ) {
    this.perMinute = c.perMinute;
    this.now = deps.now ?? Date.now;
  }

  async send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome> {
    const body = JSON.stringify(webhookPayload(msg));
    const ts = Math.floor(this.now() / 1000);
    const signature = signWebhook(this.c.secret, ts, body);
    const call: Call = { what: `webhook ${this.id}`, secrets: [this.c.secret, signature.slice(7)], signal: opts.signal };
    const res = await httpRequest(call, this.c.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        [WEBHOOK_HEADERS.timestamp]: String(ts),
        [WEBHOOK_HEADERS.signature]: signature,
        [WEBHOOK_HEADERS.idempotencyKey]: msg.id,
      },
      body,
    });
    const detail = `HTTP ${res.status}${snippet(res.text)}`;
    if (res.status >= 200 && res.status < 300) {
      const id = (res.json as { id?: unknown } | undefined)?.id;
      return { state: 'sent', ...(typeof id === 'string' && id ? { providerId: id } : {}) };
    }
    if (res.status === 401 || res.status === 403) throw fail(call, 'RB_ERR_NOTIFY_AUTH', detail);
    if (res.status === 404 || res.status === 410) throw fail(call, 'RB_ERR_NOTIFY_GONE', detail);
    // 408 Request Timeout, 409 the same Idempotency-Key still in progress (draft-ietf-httpapi-idempotency-key-header): try again later.
    if (res.status === 408 || res.status === 409) throw fail(call, 'RB_ERR_NOTIFY_UNAVAILABLE', detail);
    throw fail(call, 'RB_ERR_NOTIFY_REJECTED', detail);
  }
}

export const webhookChannel: ChannelPlugin<typeof webhookConfig> = {
  type: 'webhook',
  config: webhookConfig,
  secrets: ['secret'],
  create: (id, config, deps) => new Webhook(id, config, deps),
};
