import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feishuBotChannel, feishuSign } from '../../../hub/notify/channels/feishu-bot.js';
import { freePort } from '../../support/ports.js';
import { feishuBotFake } from '../../support/providers/feishu-bot.js';
import type { HttpFake } from '../../support/providers/http-fake.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const HOOK = '5e3d587e-d78e-4a07-bd07-265f269f86fd';
const SECRET = 'nIMtb7r3N9pkXyXdtAbx6e';
const make = (id: string, over: Record<string, unknown>, now?: () => number) => feishuBotChannel.create(id, feishuBotChannel.config.parse(over), { log, ...(now ? { now } : {}) });

describe('Feishu 签名校验', () => {
  it("matches the document's example timestamp 1599360473, as its Python sample and openssl compute it", () => {
    // The custom-bot guide's request example carries "timestamp": "1599360473"; its Python sample
    // (hmac.new(f"{timestamp}\n{secret}".encode(), digestmod=sha256) over b"", base64) with the secret
    // 'this is secret' prints this, and `openssl dgst -sha256 -mac HMAC -macopt key:…` agrees.
    expect(feishuSign('this is secret', 1599360473)).toBe('/eYKrXQBzTjUZJ3s6NX16VxGbTwmK7AEs8/FnvC1CSw=');
  });
});

channelConformance('Feishu custom bot', async () => {
  const provider = await feishuBotFake({ hookId: HOOK, secret: SECRET }).start();
  return {
    channel: make('feishu-xingfuli', { hookId: HOOK, secret: SECRET, baseUrl: provider.baseUrl }),
    badSecretChannel: make('feishu-bad', { hookId: HOOK, secret: 'not-the-right-secret', baseUrl: provider.baseUrl }),
    unreachableChannel: make('feishu-nowhere', { hookId: HOOK, secret: SECRET, baseUrl: `http://127.0.0.1:${await freePort()}` }),
    provider,
    address: { kind: 'group' },
    secrets: [HOOK, SECRET],
    // The custom bot has no idempotency key (docs/notifications.md).
    idempotent: false,
    close: () => provider.close(),
  };
});

describe('Feishu custom bot, beyond the suite', () => {
  let provider: HttpFake;
  beforeAll(async () => {
    provider = await feishuBotFake({ hookId: HOOK, secret: SECRET }).start();
  });
  afterAll(() => provider.close());
  const signal = () => ({ signal: AbortSignal.timeout(5000) });

  it('sends a signed post: seconds timestamp and sign in the body, the title, a 确认 link, @all', async () => {
    const ch = make('f1', { hookId: HOOK, secret: SECRET, baseUrl: provider.baseUrl, mentionAll: true });
    const msg = message({ kind: 'group' });
    await ch.send(msg, signal());
    const b = provider.requests.at(-1)!.json as { timestamp: string; sign: string; msg_type: string; content: { post: { zh_cn: { title: string; content: unknown[][] } } } };
    expect(Math.abs(Number(b.timestamp) - Date.now() / 1000)).toBeLessThan(10);
    expect(b.sign).toBe(feishuSign(SECRET, b.timestamp));
    expect(b.msg_type).toBe('post');
    expect(b.content.post.zh_cn.title).toBe(msg.title);
    expect(b.content.post.zh_cn.content).toContainEqual([{ tag: 'a', text: '确认', href: msg.ackUrl }]);
    expect(b.content.post.zh_cn.content.at(-1)).toEqual([{ tag: 'at', user_id: 'all', user_name: '所有人' }]);
  });

  it('English messages go under en_us; text messages carry @all as an at tag', async () => {
    await make('f2', { hookId: HOOK, secret: SECRET, baseUrl: provider.baseUrl }).send(message({ kind: 'group' }, { lang: 'en', title: 'Door forced' }), signal());
    expect((provider.requests.at(-1)!.json as { content: { post: Record<string, unknown> } }).content.post).toHaveProperty('en_us');
    await make('f3', { hookId: HOOK, secret: SECRET, baseUrl: provider.baseUrl, msgType: 'text', mentionAll: true }).send(message({ kind: 'group' }), signal());
    expect((provider.requests.at(-1)!.json as { content: { text: string } }).content.text.startsWith('<at user_id="all">所有人</at> ')).toBe(true);
  });

  it('a timestamp more than an hour old is refused (19021) as RB_ERR_NOTIFY_AUTH; an unknown hook too (19001)', async () => {
    await expect(make('f4', { hookId: HOOK, secret: SECRET, baseUrl: provider.baseUrl }, () => Date.now() - 3_700_000).send(message({ kind: 'group' }), signal())).rejects.toMatchObject({
      code: 'RB_ERR_NOTIFY_AUTH',
    });
    expect(provider.refused.at(-1)).toBe('timestamp');
    await expect(make('f5', { hookId: 'not-the-hook-id', secret: SECRET, baseUrl: provider.baseUrl }).send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_AUTH' });
  });

  it('maps codes: 19024 (keywords) rejected, 11232 rate limited for a minute, the old StatusCode shape, and HTTP 429', async () => {
    const ch = make('f6', { hookId: HOOK, secret: SECRET, baseUrl: provider.baseUrl });
    provider.answerNext({ status: 200, body: { code: 19024, data: {}, msg: 'Key Words Not Found' } });
    await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_REJECTED' });
    provider.answerNext({ status: 200, body: { code: 11232, data: {}, msg: 'frequency limited' } });
    await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_RATE_LIMITED', retryAfterMs: 60_000 });
    provider.answerNext({ status: 200, body: { Extra: null, StatusCode: 0, StatusMessage: 'success' } });
    await expect(ch.send(message({ kind: 'group' }), signal())).resolves.toEqual({ state: 'sent' });
    provider.answerNext({ status: 429, body: { code: 99991400, msg: 'request trigger frequency limit' }, headers: { 'retry-after': '7' } });
    await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_RATE_LIMITED', retryAfterMs: 7000 });
  });

  it('declares its credentials secret and describes every config key', () => {
    expect(feishuBotChannel.secrets).toEqual(['hookId', 'secret']);
    for (const [k, v] of Object.entries(feishuBotChannel.config.shape)) expect(v.description, k).toMatch(/\S{3}/);
    expect(feishuBotChannel.config.parse({ hookId: HOOK }).perMinute).toBe(100);
  });
});
