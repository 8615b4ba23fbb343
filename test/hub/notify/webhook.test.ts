import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, webhookChannel } from '../../../hub/notify/channels/webhook.js';
import { freePort } from '../../support/ports.js';
import { webhookFake } from '../../support/providers/webhook.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const SECRET = '7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e';
const make = (id: string, over: Record<string, unknown>) => webhookChannel.create(id, webhookChannel.config.parse(over), { log });

// The example in docs/notifications.md, computed with
//   printf '1733540000.{"id":"01JEKX5Q9V7Y3ZB4N6M8P0R2ST","alertId":"a1","severity":3}' | openssl dgst -sha256 -hmac 'red-butler-example-secret' -hex
const EXAMPLE = {
  secret: 'red-butler-example-secret',
  timestamp: '1733540000',
  body: '{"id":"01JEKX5Q9V7Y3ZB4N6M8P0R2ST","alertId":"a1","severity":3}',
  signature: 'sha256=012768c46200403cc473516220ba426d4bd756600cdb482149f00617828c1774',
};

describe('webhook signature', () => {
  const headers = (ts: string, sig: string) => ({ 'x-redbutler-timestamp': ts, 'x-redbutler-signature': sig });
  const at = Number(EXAMPLE.timestamp) * 1000;

  it('signs the documented example as openssl does', () => {
    expect(signWebhook(EXAMPLE.secret, EXAMPLE.timestamp, EXAMPLE.body)).toBe(EXAMPLE.signature);
  });

  it('verifyWebhook accepts the example within 5 minutes, raw bytes or string', () => {
    expect(verifyWebhook({ secret: EXAMPLE.secret, headers: headers(EXAMPLE.timestamp, EXAMPLE.signature), rawBody: EXAMPLE.body, now: at + 299_000 })).toEqual({ ok: true, timestamp: 1733540000 });
    expect(verifyWebhook({ secret: EXAMPLE.secret, headers: headers(EXAMPLE.timestamp, EXAMPLE.signature), rawBody: Buffer.from(EXAMPLE.body), now: at })).toMatchObject({ ok: true });
  });

  it('verifyWebhook refuses a changed body, another secret, a replay after 5 minutes, a moved timestamp, missing headers', () => {
    const v = (over: Partial<{ secret: string; ts: string; sig: string; body: string; now: number }>) =>
      verifyWebhook({
        secret: over.secret ?? EXAMPLE.secret,
        headers: headers(over.ts ?? EXAMPLE.timestamp, over.sig ?? EXAMPLE.signature),
        rawBody: over.body ?? EXAMPLE.body,
        now: over.now ?? at,
      });
    expect(v({ body: EXAMPLE.body.replace('3', '1') })).toEqual({ ok: false, reason: 'mismatch' });
    // Re-serialised JSON (spaces) is not the raw body: verify before parsing.
    expect(v({ body: JSON.stringify(JSON.parse(EXAMPLE.body), null, 1) })).toEqual({ ok: false, reason: 'mismatch' });
    expect(v({ secret: 'another-secret-of-16+' })).toEqual({ ok: false, reason: 'mismatch' });
    expect(v({ now: at + 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(v({ ts: '1733540001', now: at })).toEqual({ ok: false, reason: 'mismatch' });
    expect(v({ sig: EXAMPLE.signature.slice(7) })).toEqual({ ok: false, reason: 'missing' });
    expect(verifyWebhook({ secret: EXAMPLE.secret, headers: {}, rawBody: EXAMPLE.body, now: at })).toEqual({ ok: false, reason: 'missing' });
  });
});

channelConformance('signed JSON webhook', async () => {
  const provider = await webhookFake({ secret: SECRET }).start();
  return {
    channel: make('street', { url: provider.url(), secret: SECRET }),
    badSecretChannel: make('street-bad', { url: provider.url(), secret: 'ffffffffffffffffffffffffffffffff' }),
    unreachableChannel: make('street-nowhere', { url: `http://127.0.0.1:${await freePort()}/hooks/red-butler`, secret: SECRET }),
    provider,
    address: { kind: 'group' },
    secrets: [SECRET],
    close: () => provider.close(),
  };
});

describe('signed JSON webhook, beyond the suite', () => {
  let provider: ReturnType<typeof webhookFake>;
  beforeAll(async () => {
    provider = await webhookFake({ secret: SECRET }).start();
  });
  afterAll(() => provider.close());
  const signal = () => ({ signal: AbortSignal.timeout(5000) });

  it('posts the documented body and headers, which the exported verifyWebhook accepts', async () => {
    const ch = make('w1', { url: provider.url(), secret: SECRET });
    const msg = message({ kind: 'phone', phone: '13800138000' });
    const out = await ch.send(msg, signal());
    expect(out).toEqual({ state: 'sent', providerId: expect.stringMatching(/^rcv-/) });
    const req = provider.requests.at(-1)!;
    expect(req.json).toEqual({ id: msg.id, alertId: msg.alertId, severity: 3, title: msg.title, text: msg.text, params: msg.params, ackUrl: msg.ackUrl, lang: 'zh-CN', to: msg.to });
    expect(req.headers['idempotency-key']).toBe(msg.id);
    expect(verifyWebhook({ secret: SECRET, headers: req.headers, rawBody: req.raw })).toMatchObject({ ok: true });
    expect(provider.accepted.at(-1)!.to).toBe('13800138000');
  });

  it('a retry of one notification carries the same Idempotency-Key and the receiver takes it once', async () => {
    const ch = make('w2', { url: provider.url(), secret: SECRET });
    const msg = message({ kind: 'group' });
    const accepted = provider.accepted.length;
    const a = await ch.send(msg, signal());
    const b = await ch.send(msg, signal());
    expect(provider.accepted.length).toBe(accepted + 1);
    expect(provider.duplicates).toContain(msg.id);
    expect(b.providerId).toBe(a.providerId);
  });

  it('maps answers: 429 with Retry-After, 403 auth, 410 gone, 409 in progress retried, 422 rejected', async () => {
    const ch = make('w3', { url: provider.url(), secret: SECRET });
    const cases = [
      [{ status: 429, body: {}, headers: { 'retry-after': '30' } }, { code: 'RB_ERR_NOTIFY_RATE_LIMITED', retryAfterMs: 30_000, retryable: true }],
      [{ status: 403, body: {} }, { code: 'RB_ERR_NOTIFY_AUTH', retryable: false }],
      [{ status: 410, body: {} }, { code: 'RB_ERR_NOTIFY_GONE', retryable: false }],
      [{ status: 409, body: {} }, { code: 'RB_ERR_NOTIFY_UNAVAILABLE', retryable: true }],
      [{ status: 422, body: { error: 'unknown estate' } }, { code: 'RB_ERR_NOTIFY_REJECTED', retryable: false }],
    ] as const;
    for (const [answer, want] of cases) {
      provider.answerNext(answer);
      await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject(want);
    }
  });

  it('declares its secret and describes every config key', () => {
    expect(webhookChannel.secrets).toEqual(['secret']);
    for (const [k, v] of Object.entries(webhookChannel.config.shape)) expect(v.description, k).toMatch(/\S{3}/);
    expect(() => webhookChannel.config.parse({ url: 'http://x.example/h', secret: 'short' })).toThrow();
  });
});

