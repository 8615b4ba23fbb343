import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dingtalkRobotChannel, dingtalkSign } from '../../../hub/notify/channels/dingtalk-robot.js';
import { freePort } from '../../support/ports.js';
import { dingtalkRobotFake } from '../../support/providers/dingtalk-robot.js';
import type { HttpFake } from '../../support/providers/http-fake.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const TOKEN = '566cc69da782ec0a7b0f8e0c1f4e5a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f';
const SECRET = 'SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc';
const make = (id: string, over: Record<string, unknown>, now?: () => number) =>
  dingtalkRobotChannel.create(id, dingtalkRobotChannel.config.parse(over), { log, ...(now ? { now } : {}) });

describe('DingTalk 加签', () => {
  it("matches the document's own Python sample (secret 'this is secret'), run with python3 and openssl", () => {
    // open.dingtalk.com …/customize-robot-security-settings publishes the algorithm with the sample
    // secret 'this is secret' and a current timestamp (no fixed output). Its Python sample run with
    // timestamp 1577262236757 prints this (openssl dgst -sha256 -hmac agrees before the urlEncode):
    expect(dingtalkSign('this is secret', 1577262236757)).toBe('hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D');
  });
});

channelConformance('DingTalk custom robot', async () => {
  const provider = await dingtalkRobotFake({ accessToken: TOKEN, secret: SECRET }).start();
  return {
    channel: make('ding-xingfuli', { accessToken: TOKEN, secret: SECRET, baseUrl: provider.baseUrl }),
    badSecretChannel: make('ding-bad', { accessToken: TOKEN, secret: 'SECnot-the-right-secret-000000', baseUrl: provider.baseUrl }),
    unreachableChannel: make('ding-nowhere', { accessToken: TOKEN, secret: SECRET, baseUrl: `http://127.0.0.1:${await freePort()}` }),
    provider,
    address: { kind: 'group' },
    secrets: [TOKEN, SECRET],
    // The custom robot has no idempotency key (docs/notifications.md).
    idempotent: false,
    close: () => provider.close(),
  };
});

describe('DingTalk custom robot, beyond the suite', () => {
  let provider: HttpFake;
  beforeAll(async () => {
    provider = await dingtalkRobotFake({ accessToken: TOKEN, secret: SECRET, perMinute: 3 }).start();
  });
  afterAll(() => provider.close());
  const signal = () => ({ signal: AbortSignal.timeout(5000) });

  it('signs with a millisecond timestamp in the query and sends markdown with a 确认 link and @ mentions', async () => {
    const ch = make('d1', { accessToken: TOKEN, secret: SECRET, baseUrl: provider.baseUrl, atMobiles: ['13800138000'] });
    const msg = message({ kind: 'group' });
    await ch.send(msg, signal());
    const req = provider.requests.at(-1)!;
    expect(Math.abs(Number(req.url.searchParams.get('timestamp')) - Date.now())).toBeLessThan(10_000);
    const body = req.json as { msgtype: string; markdown: { title: string; text: string }; at: { atMobiles: string[]; isAtAll: boolean } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe(msg.title);
    expect(body.markdown.text).toContain(`[确认](${msg.ackUrl})`);
    expect(body.markdown.text).toContain('@13800138000');
    expect(body.at).toEqual({ atMobiles: ['13800138000'], isAtAll: false });
  });

  it('a clock more than an hour off is refused (310000) as RB_ERR_NOTIFY_AUTH', async () => {
    const ch = make('d2', { accessToken: TOKEN, secret: SECRET, baseUrl: provider.baseUrl }, () => Date.now() - 3_700_000);
    await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_AUTH' });
    expect(provider.refused.at(-1)).toBe('timestamp');
  });

  it('the robot\'s 21st message of a minute (here the 4th of 3) is RB_ERR_NOTIFY_RATE_LIMITED for the 10-minute throttle', async () => {
    const ch = make('d3', { accessToken: TOKEN, secret: SECRET, baseUrl: provider.baseUrl });
    await ch.send(message({ kind: 'group' }), signal());
    await ch.send(message({ kind: 'group' }), signal());
    const err = await ch.send(message({ kind: 'group' }), signal()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RB_ERR_NOTIFY_RATE_LIMITED', retryAfterMs: 600_000 });
    expect(String(err)).toContain('130101');
  });

  it('maps errcodes: 300001 auth, 400013 (group dissolved) gone, 430102 rejected, 410100 rate limited', async () => {
    const ch = make('d4', { accessToken: TOKEN, secret: SECRET, baseUrl: provider.baseUrl });
    for (const [errcode, code] of [
      [300001, 'RB_ERR_NOTIFY_AUTH'],
      [400013, 'RB_ERR_NOTIFY_GONE'],
      [430102, 'RB_ERR_NOTIFY_REJECTED'],
      [410100, 'RB_ERR_NOTIFY_RATE_LIMITED'],
    ] as const) {
      provider.answerNext({ status: 200, body: { errcode, errmsg: 'x' } });
      await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code });
    }
  });

  it('declares both credentials secret and describes every config key', () => {
    expect(dingtalkRobotChannel.secrets).toEqual(['accessToken', 'secret']);
    for (const [k, v] of Object.entries(dingtalkRobotChannel.config.shape)) expect(v.description, k).toMatch(/\S{3}/);
    expect(dingtalkRobotChannel.config.parse({ accessToken: TOKEN }).perMinute).toBe(20);
  });
});
