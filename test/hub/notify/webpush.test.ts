import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type Channel } from '../../../hub/notify/channel.js';
import { MAX_PAYLOAD_BYTES, WebPushConfig, createWebPushChannel, topicOf, webpushPlugin, type WebPushPayload } from '../../../hub/notify/channels/webpush.js';
import { createPushSubscriptions } from '../../../hub/notify/webpush-store.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { decryptAes128gcm, startPushService, type PushService } from '../../support/providers/push-service.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const SUBJECT = 'mailto:ops@red-butler.example';
const channel = (keys: { publicKey: string; privateKey: string }, over: Partial<WebPushConfig> = {}, deps: Partial<Parameters<typeof createWebPushChannel>[2]> = {}): Channel =>
  createWebPushChannel('push', WebPushConfig.parse({ ...keys, subject: SUBJECT, ...over }), { log, ...deps });

describe('the local push service decrypts as RFC 8291 says', () => {
  it("decrypts RFC 8291's published example (§5, Appendix A) to its plaintext", () => {
    const b = (s: string) => Buffer.from(s, 'base64url');
    const body = b('DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN');
    const plain = decryptAes128gcm(body, b('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94'), b('BTBZMqHH6r4Tts7J_aSIgg'));
    expect(plain.toString('utf8')).toBe('When I grow up, I want to be a watermelon');
    // One flipped bit of the ciphertext, or the wrong auth secret: no plaintext.
    const bad = Buffer.from(body);
    bad[100]! ^= 1;
    expect(() => decryptAes128gcm(bad, b('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94'), b('BTBZMqHH6r4Tts7J_aSIgg'))).toThrow();
    expect(() => decryptAes128gcm(body, b('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94'), b('AAAAAAAAAAAAAAAAAAAAAA'))).toThrow();
  });
});

// Push services have no idempotency key (RFC 8030 has none): `idempotent: false`. A retry after a
// crash between the service's 201 and the outbox's commit shows the message again; the service
// worker's `tag` (the message id) makes the second copy replace the first on the phone.
channelConformance('Web Push (RFC 8030/8291/8292)', async () => {
  const provider = await startPushService();
  const keys = webpush.generateVAPIDKeys();
  const other = webpush.generateVAPIDKeys();
  const sub = provider.subscribe(keys.publicKey);
  return {
    channel: channel(keys),
    // Another key pair than the one the subscription was made with: RFC 8292 §4.2, 403.
    badSecretChannel: channel(other),
    provider,
    address: { kind: 'push', subscription: { endpoint: sub.endpoint, keys: sub.keys } },
    secrets: [keys.privateKey, other.privateKey, sub.keys.auth],
    idempotent: false,
    close: () => provider.close(),
  };
});

describe('Web Push channel', () => {
  let svc: PushService;
  const keys = webpush.generateVAPIDKeys();
  beforeAll(async () => {
    svc = await startPushService();
  });
  afterAll(async () => {
    await svc.close();
  });
  const to = (s: { endpoint: string; keys: { p256dh: string; auth: string } }) => ({ kind: 'push' as const, subscription: { endpoint: s.endpoint, keys: s.keys } });
  const fail = async (p: Promise<unknown>): Promise<ChannelError> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    return err as ChannelError;
  };

  it('sends the payload, TTL, urgency, topic and a VAPID token for the endpoint origin that expires within 24 h', async () => {
    const sub = svc.subscribe(keys.publicKey);
    const ch = channel(keys, { ttlSeconds: 900 });
    const msg = message(to(sub), { severity: 3 });
    const out = await ch.send(msg, { signal: AbortSignal.timeout(5_000) });
    expect(out.state).toBe('sent');
    expect(out.providerId).toMatch(/\/message\//);
    const got = svc.received.at(-1)!;
    const p = JSON.parse(got.plaintext) as WebPushPayload;
    expect(p).toEqual({ id: msg.id, alertId: msg.alertId, title: msg.title, body: msg.text, severity: 3, ackUrl: msg.ackUrl, url: `/me?alert=${msg.alertId}` });
    expect(got.ttl).toBe(900);
    expect(got.urgency).toBe('high');
    expect(got.topic).toBe(topicOf(msg.alertId));
    expect(got.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(got.k).toBe(keys.publicKey);
    expect(got.claims.aud).toBe(svc.url);
    expect(got.claims.sub).toBe(SUBJECT);
    expect(got.claims.exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);

    await ch.send(message(to(sub), { severity: 1, alertId: 'test:01J0000000000000000000000', ackUrl: undefined }), { signal: AbortSignal.timeout(5_000) });
    const low = svc.received.at(-1)!;
    expect(low.urgency).toBe('normal');
    expect(JSON.parse(low.plaintext)).toMatchObject({ url: '/me', severity: 1 });
    expect(JSON.parse(low.plaintext)).not.toHaveProperty('ackUrl');
  });

  it('keeps the payload under 4 KB however long the text', async () => {
    const sub = svc.subscribe(keys.publicKey);
    await channel(keys).send(message(to(sub), { text: '幸福里 3号楼单元门 强行开门。'.repeat(400) }), { signal: AbortSignal.timeout(5_000) });
    const got = svc.received.at(-1)!;
    expect(Buffer.byteLength(got.plaintext)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect((JSON.parse(got.plaintext) as WebPushPayload).body).toMatch(/^幸福里 3号楼单元门 强行开门。.*…$/);
  });

  it('wrong VAPID: a token not signed by the k it names is refused (401) as RB_ERR_NOTIFY_AUTH', async () => {
    const sub = svc.subscribe(keys.publicKey);
    const mismatched = channel({ publicKey: keys.publicKey, privateKey: webpush.generateVAPIDKeys().privateKey });
    const refused = svc.refused.length;
    const err = await fail(mismatched.send(message(to(sub)), { signal: AbortSignal.timeout(5_000) }));
    expect(err.code).toBe('RB_ERR_NOTIFY_AUTH');
    expect(err.retryable).toBe(false);
    expect(svc.refused.slice(refused)).toEqual([expect.stringMatching(/^401 invalid vapid token: signature verification failed/)]);
    expect(err.message).toContain('401');
    expect(err.message).toContain('notify.channels[push]');
  });

  it('404/410 is RB_ERR_NOTIFY_GONE and the subscription leaves the contact book; 429 carries Retry-After', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-webpush-'));
    let db: HubDatabase | undefined;
    try {
      db = await openDatabase({ file: join(dir, 'hub.db'), log });
      const subs = createPushSubscriptions({ db });
      await subs.load();
      const sub = svc.subscribe(); // unrestricted: any key pair may push
      await subs.add('u1', { endpoint: sub.endpoint, keys: sub.keys });
      const ch = webpushPlugin.create('push', WebPushConfig.parse({ subject: SUBJECT }), { log, db, pushSubscriptions: subs });
      const [route] = subs.routesFor('u1', 'push', 'zh-CN');
      expect(route).toEqual({ channelId: 'push', lang: 'zh-CN', fallback: false, address: to(sub) });

      await ch.send(message(route!.address), { signal: AbortSignal.timeout(5_000) });
      expect(subs.list('u1')[0]!.lastSuccessAt).toEqual(expect.any(Number));
      svc.failNext('rate-limited');
      const limited = await fail(ch.send(message(route!.address), { signal: AbortSignal.timeout(5_000) }));
      expect(limited.code).toBe('RB_ERR_NOTIFY_RATE_LIMITED');
      expect(limited.retryAfterMs).toBe(2_000);

      svc.expire(sub.endpoint);
      const gone = await fail(ch.send(message(route!.address), { signal: AbortSignal.timeout(5_000) }));
      expect(gone.code).toBe('RB_ERR_NOTIFY_GONE');
      expect(gone.retryable).toBe(false);
      expect(subs.routesFor('u1', 'push', 'zh-CN')).toEqual([]);
      expect(await db.db.selectFrom('push_subscriptions').selectAll().execute()).toEqual([]);

      const unknown = await fail(ch.send(message(to({ endpoint: `${svc.url}/push/nobody`, keys: sub.keys })), { signal: AbortSignal.timeout(5_000) }));
      expect(unknown.code).toBe('RB_ERR_NOTIFY_GONE');
    } finally {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a push service nobody answers for is a retryable RB_ERR_NOTIFY_UNAVAILABLE naming only its origin', async () => {
    const sub = svc.subscribe(keys.publicKey);
    const dead = 'http://127.0.0.1:9';
    const err = await fail(channel(keys).send(message(to({ endpoint: `${dead}/push/abc`, keys: sub.keys })), { signal: AbortSignal.timeout(5_000) }));
    expect(err.code).toBe('RB_ERR_NOTIFY_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(dead);
    expect(err.message).not.toContain('/push/abc');
  });

  it('refuses half a key pair in the config, naming the key', () => {
    const r = WebPushConfig.safeParse({ publicKey: keys.publicKey, subject: SUBJECT });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['privateKey']);
    expect(WebPushConfig.safeParse({ subject: 'ops@example.org' }).success).toBe(false);
    expect(() => createWebPushChannel('push', WebPushConfig.parse({ subject: SUBJECT }), { log })).toThrow(/notify\.channels\[push\]/);
  });
});
