import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type Channel } from '../../../hub/notify/channel.js';
import { tc3Authorization } from '../../../hub/notify/channels/sign-tencent.js';
import { smsTencent, type TencentSmsConfig } from '../../../hub/notify/channels/sms-tencent.js';
import { freePort } from '../../support/ports.js';
import { startTencentProvider, type TencentProvider } from '../../support/providers/tencent.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const secretId = 'AKIDRedButlerTest0000000000000000001';
const secretKey = 'tencent-secret-Hj8Kl2Mn4Bv6Cx';
const token = 'reply-token-9b2e7c4a1f6d3058';
const phone = { kind: 'phone', phone: '13800138000' } as const;

const provider = (): Promise<TencentProvider> =>
  startTencentProvider({ secretId, secretKey, smsSdkAppId: '1400006666', signNames: ['红管家'], templates: { '1110': '{1}{2}{3}{4}，回复{5}确认' } });

function channel(p: { url: string }, over: Partial<Record<keyof TencentSmsConfig, unknown>> = {}): Channel {
  const cfg = smsTencent.config.parse({ secretId, secretKey, smsSdkAppId: '1400006666', signName: '红管家', templateId: '1110', endpoint: p.url, inboundToken: token, ...over });
  return smsTencent.create('tencent', cfg, { log });
}

async function failure(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

channelConformance('Tencent Cloud SMS (SendSms 2021-01-11)', async () => {
  const p = await provider();
  return {
    channel: channel(p),
    badSecretChannel: channel(p, { secretKey: 'not-the-secret-000000' }),
    unreachableChannel: channel({ url: `http://127.0.0.1:${await freePort()}/` }),
    provider: p,
    address: phone,
    secrets: [secretKey, token],
    close: () => p.close(),
  };
});

describe('Tencent SMS: request, templates and answers', () => {
  let p: TencentProvider;
  beforeAll(async () => {
    p = await provider();
  });
  afterAll(() => p.close());
  const signal = () => AbortSignal.timeout(10_000);
  const send = (c: Channel) => c.send(message(phone), { signal: signal() });

  it('posts the documented body and headers, signed TC3-HMAC-SHA256; SessionContext = the outbox row id', async () => {
    const msg = message(phone);
    const out = await channel(p).send(msg, { signal: signal() });
    expect(out).toMatchObject({ state: 'sent', providerId: expect.stringMatching(/^2028:/) });
    const req = p.received.at(-1)!;
    expect(req.headers).toMatchObject({ 'x-tc-action': 'SendSms', 'x-tc-version': '2021-01-11', 'x-tc-region': 'ap-guangzhou', 'content-type': 'application/json; charset=utf-8' });
    expect(req.headers.authorization).toMatch(new RegExp(`^TC3-HMAC-SHA256 Credential=${secretId}/\\d{4}-\\d{2}-\\d{2}/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=[0-9a-f]{64}$`));
    expect(p.lastBody).toEqual({
      PhoneNumberSet: ['+8613800138000'],
      SmsSdkAppId: '1400006666',
      SignName: '红管家',
      TemplateId: '1110',
      TemplateParamSet: ['幸福里', '3号楼单元门', '02:58', '强行开门', '1'],
      SessionContext: msg.id,
    });
    expect(p.accepted.at(-1)).toEqual({ to: '+8613800138000', text: '【红管家】幸福里3号楼单元门02:58强行开门，回复1确认', idempotencyKey: msg.id });
  });

  it('the local verifier is no rubber stamp: a body changed after signing is AuthFailure.SignatureFailure', async () => {
    const host = new URL(p.url).host;
    const body = JSON.stringify({ PhoneNumberSet: ['+8613800138000'], SmsSdkAppId: '1400006666', SignName: '红管家', TemplateId: '1110', TemplateParamSet: ['a', 'b', 'c', 'd', 'e'] });
    const ts = Math.floor(Date.now() / 1000);
    const { authorization } = tc3Authorization(secretId, secretKey, { method: 'POST', headers: { 'content-type': 'application/json', host }, payload: body, service: 'sms', timestamp: ts });
    const headers = { authorization, 'content-type': 'application/json', 'x-tc-action': 'SendSms', 'x-tc-timestamp': String(ts), 'x-tc-version': '2021-01-11', 'x-tc-region': 'ap-guangzhou' };
    const ok = (await (await fetch(p.url, { method: 'POST', headers, body })).json()) as { Response: { SendStatusSet?: { Code: string }[] } };
    expect(ok.Response.SendStatusSet?.[0]?.Code).toBe('Ok');
    const forged = (await (await fetch(p.url, { method: 'POST', headers, body: body.replace('+8613800138000', '+8613900139000') })).json()) as { Response: { Error?: { Code: string } } };
    expect(forged.Response.Error?.Code).toBe('AuthFailure.SignatureFailure');
  });

  it('an unapproved template, a sign name, or a parameter count that does not fit is RB_ERR_NOTIFY_TEMPLATE', async () => {
    const tpl = await failure(send(channel(p, { templateId: '9999' })));
    expect([tpl.code, tpl.retryable, tpl.message]).toEqual(['RB_ERR_NOTIFY_TEMPLATE', false, expect.stringContaining('FailedOperation.TemplateIncorrectOrUnapproved')]);
    const sign = await failure(send(channel(p, { signName: '某物业' })));
    expect([sign.code, sign.message]).toEqual(['RB_ERR_NOTIFY_TEMPLATE', expect.stringContaining('FailedOperation.SignatureIncorrectOrUnapproved')]);
    const count = await failure(send(channel(p, { templateParams: ['estate', 'event'] })));
    expect(count.code).toBe('RB_ERR_NOTIFY_TEMPLATE');
  });

  it('maps Response.Error and per-number codes: SecretId, daily limit, API frequency, internal error, bad number', async () => {
    const id = await failure(send(channel(p, { secretId: 'AKIDSomeoneElse000000000000000000000' })));
    expect([id.code, id.message]).toEqual(['RB_ERR_NOTIFY_AUTH', expect.stringContaining('AuthFailure.SecretIdNotFound')]);
    p.answerNext('LimitExceeded.PhoneNumberDailyLimit');
    const daily = await failure(send(channel(p)));
    expect(daily.code).toBe('RB_ERR_NOTIFY_RATE_LIMITED');
    expect(daily.retryAfterMs).toBeGreaterThan(0);
    expect(daily.retryAfterMs).toBeLessThanOrEqual(86_400_000);
    p.answerNext('RequestLimitExceeded', { whole: true });
    const api = await failure(send(channel(p)));
    expect([api.code, api.retryAfterMs]).toEqual(['RB_ERR_NOTIFY_RATE_LIMITED', 1_000]);
    p.answerNext('InternalError', { whole: true });
    expect((await failure(send(channel(p)))).code).toBe('RB_ERR_NOTIFY_UNAVAILABLE');
    p.answerNext('InvalidParameterValue.IncorrectPhoneNumber');
    expect((await failure(send(channel(p)))).code).toBe('RB_ERR_NOTIFY_REJECTED');
    const app = await failure(send(channel(p, { smsSdkAppId: '1400000000' })));
    expect(app.code).toBe('RB_ERR_NOTIFY_AUTH');
  });
});

describe('Tencent SMS: replies (回复短信 callback)', () => {
  const cfg = smsTencent.config.parse({ secretId, secretKey, smsSdkAppId: '1400006666', signName: '红管家', templateId: '1110', inboundToken: token });
  const body = { extend: '', mobile: '13800138000', nationcode: '86', sign: '红管家', text: '1', time: 1796583605 };
  const req = (query: Record<string, string | undefined> | undefined, b: unknown = body) => ({ channelId: 'tencent', headers: {}, query, body: b, rawBody: Buffer.from(JSON.stringify(b)) });

  it('turns the callback into a reply from +<nationcode><mobile>', () => {
    expect(smsTencent.inbound!(cfg, req({ token }))).toEqual([{ channelId: 'tencent', from: '+8613800138000', text: '1', receivedAt: 1796583605_000 }]);
    expect(smsTencent.inboundAnswer).toEqual({ result: 0, errmsg: 'OK' });
  });

  it('refuses a callback without the token, with another token, or when no token is configured', () => {
    for (const q of [undefined, { token: token.toUpperCase() }, { token: `${token}x` }]) {
      expect(() => smsTencent.inbound!(cfg, req(q))).toThrow(expect.objectContaining({ code: 'RB_ERR_NOTIFY_AUTH' }));
    }
    const open = smsTencent.config.parse({ ...cfg, inboundToken: undefined });
    expect(() => smsTencent.inbound!(open, req({ token }))).toThrow(expect.objectContaining({ code: 'RB_ERR_NOTIFY_AUTH' }));
  });

  it('refuses a body without mobile and text', () => {
    expect(() => smsTencent.inbound!(cfg, req({ token }, { nationcode: '86' }))).toThrow(expect.objectContaining({ code: 'RB_ERR_NOTIFY_REJECTED' }));
  });

  it('lists its secrets and describes every config key', () => {
    expect(smsTencent.secrets).toEqual(['secretKey', 'inboundToken']);
    for (const [key, schema] of Object.entries(smsTencent.config.shape)) expect(schema.description, key).toMatch(/\S{3}/);
  });
});
