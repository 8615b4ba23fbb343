import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wecomAppChannel } from '../../../hub/notify/channels/wecom-app.js';
import { freePort } from '../../support/ports.js';
import { wecomAppFake, type WecomAppFake } from '../../support/providers/wecom-app.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const CORP = 'ww7e42424723224ba8';
const SECRET = 'we0YB4242424242_J2332PnmA-secret';
const AGENT = 1000002;
const base = (provider: { baseUrl: string }, over: Record<string, unknown> = {}) => ({ corpId: CORP, corpSecret: SECRET, agentId: AGENT, baseUrl: provider.baseUrl, ...over });
const make = (id: string, over: Record<string, unknown>, now?: () => number) =>
  wecomAppChannel.create(id, wecomAppChannel.config.parse(over), { log, ...(now ? { now } : {}) });
const to = { kind: 'wecom-user' as const, userId: 'ZhangSan' };

channelConformance('WeCom application message', async () => {
  const provider = await wecomAppFake({ corpId: CORP, corpSecret: SECRET, agentId: AGENT, users: ['zhangsan'] }).start();
  return {
    channel: make('wecom', base(provider)),
    badSecretChannel: make('wecom-bad', base(provider, { corpSecret: 'not-the-secret-at-all' })),
    unreachableChannel: make('wecom-nowhere', base({ baseUrl: `http://127.0.0.1:${await freePort()}` })),
    provider,
    address: to,
    secrets: [SECRET],
    close: () => provider.close(),
  };
});

describe('WeCom application message, beyond the suite', () => {
  let provider: WecomAppFake;
  beforeAll(async () => {
    provider = await wecomAppFake({ corpId: CORP, corpSecret: SECRET, agentId: AGENT, users: ['zhangsan', 'lisi'] }).start();
  });
  afterAll(() => provider.close());
  const signal = () => ({ signal: AbortSignal.timeout(5000) });

  it('fetches one token for many sends, concurrent ones included, and sends the documented body', async () => {
    const before = provider.tokensIssued();
    const ch = make('w1', base(provider));
    const outs = await Promise.all([1, 2, 3].map(() => ch.send(message(to), signal())));
    await ch.send(message({ kind: 'wecom-user', userId: 'lisi' }), signal());
    expect(provider.tokensIssued() - before).toBe(1);
    expect(outs.every((o) => o.state === 'sent' && typeof o.providerId === 'string')).toBe(true);
    const req = provider.requests.at(-1)!;
    expect(req.url.pathname).toBe('/cgi-bin/message/send');
    expect(req.json).toMatchObject({ touser: 'lisi', msgtype: 'text', agentid: AGENT, enable_duplicate_check: 1, duplicate_check_interval: 1800 });
  });

  it('refreshes the token early: refreshEarlyS before expires_in runs out', async () => {
    let now = 1_000_000;
    const ch = make('w2', base(provider, { refreshEarlyS: 300 }), () => now);
    const before = provider.tokensIssued();
    await ch.send(message(to), signal());
    now += (7200 - 301) * 1000;
    await ch.send(message(to), signal());
    expect(provider.tokensIssued() - before).toBe(1);
    now += 2000; // now within 300 s of expiry
    await ch.send(message(to), signal());
    expect(provider.tokensIssued() - before).toBe(2);
  });

  it('an expired token (42001) is fetched again once and the message goes through', async () => {
    const ch = make('w3', base(provider));
    await ch.send(message(to), signal());
    provider.expireTokens();
    const before = provider.tokensIssued();
    const accepted = provider.accepted.length;
    await ch.send(message(to), signal());
    expect(provider.tokensIssued() - before).toBe(1);
    expect(provider.accepted.length).toBe(accepted + 1);
  });

  it('a token refused twice is RB_ERR_NOTIFY_AUTH, not a loop', async () => {
    const ch = make('w4', base(provider));
    await ch.send(message(to), signal());
    provider.answerNext({ status: 200, body: { errcode: 40014, errmsg: 'invalid access_token' } });
    provider.answerNext({ status: 200, body: { errcode: 0, errmsg: 'ok', access_token: 'T'.repeat(40), expires_in: 7200 } });
    provider.answerNext({ status: 200, body: { errcode: 40014, errmsg: 'invalid access_token' } });
    const err = await ch.send(message(to), signal()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RB_ERR_NOTIFY_AUTH', retryable: false });
    expect(String(err)).not.toContain('T'.repeat(40));
  });

  it('a retry of the same row is not delivered twice (enable_duplicate_check), another row is', async () => {
    const ch = make('w5', base(provider));
    const msg = message(to);
    const accepted = provider.accepted.length;
    await ch.send(msg, signal());
    await ch.send(msg, signal());
    expect(provider.accepted.length).toBe(accepted + 1);
    expect(provider.accepted.at(-1)!.idempotencyKey).toBe(msg.id);
    expect(provider.notDelivered).toContain('duplicate to ZhangSan');
    await ch.send({ ...message(to), text: msg.text, title: msg.title }, signal());
    expect(provider.accepted.length).toBe(accepted + 2);
  });

  it('a member outside the app (81013, or named in invaliduser) is RB_ERR_NOTIFY_REJECTED', async () => {
    const ch = make('w6', base(provider));
    await expect(ch.send(message({ kind: 'wecom-user', userId: 'wangwu' }), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_REJECTED' });
    await ch.send(message(to), signal()); // token cached
    provider.answerNext({ status: 200, body: { errcode: 0, errmsg: 'ok', invaliduser: 'zhangsan', msgid: 'x' } });
    await expect(ch.send(message(to), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_REJECTED' });
  });

  it('a wrong corp id is RB_ERR_NOTIFY_AUTH; another agentid is too', async () => {
    await expect(make('w7', base(provider, { corpId: 'wwnotthecorp' })).send(message(to), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_AUTH' });
    await expect(make('w8', base(provider, { agentId: 9 })).send(message(to), signal())).rejects.toMatchObject({ code: 'RB_ERR_NOTIFY_AUTH' });
  });

  it('logs neither the secret nor a token, at trace level through a token refresh', async () => {
    const lines: string[] = [];
    const traceLog = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    const ch = wecomAppChannel.create('w9', wecomAppChannel.config.parse(base(provider)), { log: traceLog });
    await ch.send(message(to), signal());
    provider.expireTokens();
    await ch.send(message(to), signal());
    const tokens = provider.requests.map((r) => r.url.searchParams.get('access_token')).filter((t): t is string => !!t);
    expect(lines.length).toBeGreaterThan(0);
    const out = lines.join('');
    for (const s of [SECRET, ...tokens]) expect(out).not.toContain(s);
  });

  it('declares its secret and describes every config key', () => {
    expect(wecomAppChannel.secrets).toEqual(['corpSecret']);
    for (const [k, v] of Object.entries(wecomAppChannel.config.shape)) expect(v.description, k).toMatch(/\S{3}/);
  });
});
