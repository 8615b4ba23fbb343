import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type Channel } from '../../../hub/notify/channel.js';
import { smsAliyun, type AliyunSmsConfig } from '../../../hub/notify/channels/sms-aliyun.js';
import { aliyunSignedParams } from '../../../hub/notify/channels/sign-aliyun.js';
import { freePort } from '../../support/ports.js';
import { startAliyunProvider, type AliyunProvider } from '../../support/providers/aliyun.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const keyId = 'LTAI5tRedButlerTest01';
const secret = 'aliyun-secret-Zx9q7Lm2Pp4Rt6Vw';
const token = 'smsup-token-4f1c9a7e2b6d8035';
const templates = { SMS_468000001: '${estate}${device}${time}${event}，回复${reply}确认' };
const phone = { kind: 'phone', phone: '+8613800138000' } as const;

async function provider(): Promise<AliyunProvider> {
  return startAliyunProvider({ product: 'sms', accessKeyId: keyId, accessKeySecret: secret, signNames: ['红管家'], templates });
}

function channel(p: { url: string }, over: Partial<Record<keyof AliyunSmsConfig, unknown>> = {}): Channel {
  const cfg = smsAliyun.config.parse({ accessKeyId: keyId, accessKeySecret: secret, signName: '红管家', templateCode: 'SMS_468000001', endpoint: p.url, inboundToken: token, ...over });
  return smsAliyun.create('aliyun', cfg, { log });
}

async function failure(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

channelConformance('Aliyun SMS (Dysmsapi SendSms)', async () => {
  const p = await provider();
  return {
    channel: channel(p),
    badSecretChannel: channel(p, { accessKeySecret: 'not-the-secret-000000' }),
    unreachableChannel: channel({ url: `http://127.0.0.1:${await freePort()}/` }),
    provider: p,
    address: phone,
    secrets: [secret, token],
    close: () => p.close(),
  };
});

describe('Aliyun SMS: request, templates and answers', () => {
  let p: AliyunProvider;
  beforeAll(async () => {
    p = await provider();
  });
  afterAll(() => p.close());
  const signal = () => AbortSignal.timeout(10_000);

  it('posts a signed form with the documented SendSms parameters, OutId = the outbox row id', async () => {
    const msg = message(phone);
    const out = await channel(p).send(msg, { signal: signal() });
    expect(out).toMatchObject({ state: 'sent', providerId: expect.stringMatching(/\^0$/) });
    const req = p.received.at(-1)!;
    expect(req.method).toBe('POST');
    expect([...req.url.searchParams.keys()]).toEqual([]); // nothing, not even the number, in the URL
    expect(p.lastParams).toMatchObject({
      Action: 'SendSms',
      Version: '2017-05-25',
      RegionId: 'cn-hangzhou',
      Format: 'JSON',
      PhoneNumbers: '13800138000',
      SignName: '红管家',
      TemplateCode: 'SMS_468000001',
      OutId: msg.id,
    });
    expect(JSON.parse(p.lastParams!.TemplateParam!)).toEqual({ estate: '幸福里', device: '3号楼单元门', time: '02:58', event: '强行开门', reply: '1' });
    expect(p.accepted.at(-1)).toEqual({ to: '13800138000', text: '【红管家】幸福里3号楼单元门02:58强行开门，回复1确认', idempotencyKey: msg.id });
  });

  it('the local verifier is no rubber stamp: a parameter changed after signing is SignatureDoesNotMatch', async () => {
    const signed = aliyunSignedParams('POST', { Action: 'SendSms', Version: '2017-05-25' }, { PhoneNumbers: '13800138000', SignName: '红管家', TemplateCode: 'SMS_468000001' }, { accessKeyId: keyId, accessKeySecret: secret }, Date.now());
    const tampered = new URLSearchParams({ ...signed, PhoneNumbers: '13900139000' });
    const res = await fetch(p.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: tampered.toString() });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { Code: string }).Code).toBe('SignatureDoesNotMatch');
  });

  it("the local verifier computes Aliyun's published SendSms signature (and then refuses its 2017 timestamp)", async () => {
    const doc = await startAliyunProvider({ product: 'sms', accessKeyId: 'testId', accessKeySecret: 'testSecret', signNames: ['阿里云短信测试专用'], templates: { SMS_71390007: '${customer}' } });
    try {
      const url = `${doc.url}?Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D&AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25`;
      const body = (await (await fetch(url)).json()) as { Code: string };
      expect(body.Code).toBe('InvalidTimeStamp.Expired');
      expect(doc.refused).toEqual([]);
      const forged = (await (await fetch(url.replace('zJDF', 'zJDG'))).json()) as { Code: string };
      expect(forged.Code).toBe('SignatureDoesNotMatch');
    } finally {
      await doc.close();
    }
  });

  it('a template the account does not have is RB_ERR_NOTIFY_TEMPLATE, not retried', async () => {
    const err = await failure(channel(p, { templateCode: 'SMS_000000000' }).send(message(phone), { signal: signal() }));
    expect(err.code).toBe('RB_ERR_NOTIFY_TEMPLATE');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('isv.SMS_TEMPLATE_ILLEGAL');
  });

  it('an unknown sign name, or a template variable left unmapped, is RB_ERR_NOTIFY_TEMPLATE too', async () => {
    const sign = await failure(channel(p, { signName: '某物业' }).send(message(phone), { signal: signal() }));
    expect([sign.code, sign.message]).toEqual(['RB_ERR_NOTIFY_TEMPLATE', expect.stringContaining('isv.SMS_SIGNATURE_ILLEGAL')]);
    const vars = await failure(channel(p, { templateParams: { estate: 'estate', device: 'device' } }).send(message(phone), { signal: signal() }));
    expect([vars.code, vars.message]).toEqual(['RB_ERR_NOTIFY_TEMPLATE', expect.stringContaining('isv.TEMPLATE_MISSING_PARAMETERS')]);
  });

  it('maps the documented codes: number illegal → REJECTED, minute / day flow control → RATE_LIMITED with the wait', async () => {
    p.answerNext('isv.MOBILE_NUMBER_ILLEGAL');
    expect((await failure(channel(p).send(message(phone), { signal: signal() }))).code).toBe('RB_ERR_NOTIFY_REJECTED');
    p.answerNext('isv.BUSINESS_LIMIT_CONTROL', '触发分钟级流控Permits:1');
    const minute = await failure(channel(p).send(message(phone), { signal: signal() }));
    expect([minute.code, minute.retryAfterMs]).toEqual(['RB_ERR_NOTIFY_RATE_LIMITED', 60_000]);
    p.answerNext('isv.BUSINESS_LIMIT_CONTROL', '触发天级流控Permits:10');
    const day = await failure(channel(p).send(message(phone), { signal: signal() }));
    expect(day.code).toBe('RB_ERR_NOTIFY_RATE_LIMITED');
    expect(day.retryAfterMs).toBeGreaterThan(0);
    expect(day.retryAfterMs).toBeLessThanOrEqual(86_400_000);
    p.answerNext('InternalError');
    expect((await failure(channel(p).send(message(phone), { signal: signal() }))).code).toBe('RB_ERR_NOTIFY_UNAVAILABLE');
  });

  it('a wrong AccessKeyId is RB_ERR_NOTIFY_AUTH; a signature refusal does not echo the string to sign', async () => {
    const id = await failure(channel(p, { accessKeyId: 'LTAI5tSomeoneElse' }).send(message(phone), { signal: signal() }));
    expect([id.code, id.message]).toEqual(['RB_ERR_NOTIFY_AUTH', expect.stringContaining('InvalidAccessKeyId.NotFound')]);
    const sig = await failure(channel(p, { accessKeySecret: 'wrong-secret-1234567' }).send(message(phone), { signal: signal() }));
    expect(sig.code).toBe('RB_ERR_NOTIFY_AUTH');
    expect(sig.message).toContain('SignatureDoesNotMatch');
    expect(sig.message).not.toMatch(/string to sign|13800138000|POST&/);
  });

  it('cuts template values to maxParamLength characters', async () => {
    await channel(p, { maxParamLength: 4 }).send(message(phone, { params: { estate: '幸福里小区东区', device: '3号楼单元门', event: '强行开门', time: '02:58', reply: '1' } }), { signal: signal() });
    expect(JSON.parse(p.lastParams!.TemplateParam!)).toMatchObject({ estate: '幸福里小', device: '3号楼单' });
  });
});

describe('Aliyun SMS: replies (SmsUp HTTP batch push)', () => {
  const cfg = smsAliyun.config.parse({ accessKeyId: keyId, accessKeySecret: secret, signName: '红管家', templateCode: 'SMS_468000001', inboundToken: token });
  const push = [
    { phone_number: '13800138000', content: ' 1 ', send_time: '2026-12-07 03:00:05', dest_code: '1234', sequence_id: 1234567890 },
    { phone_number: '13900139000', content: '收到', send_time: '2026-12-07 03:01:00', dest_code: '1234', sequence_id: '1234567891' },
  ];
  const req = (query: Record<string, string | undefined> | undefined, body: unknown = push) => ({ channelId: 'aliyun', headers: {}, query, body, rawBody: Buffer.from(JSON.stringify(body)) });

  it('turns the pushed array into replies (numbers in E.164, China time read as UTC+8)', () => {
    expect(smsAliyun.inbound!(cfg, req({ token }))).toEqual([
      { channelId: 'aliyun', from: '+8613800138000', text: '1', receivedAt: Date.UTC(2026, 11, 6, 19, 0, 5) },
      { channelId: 'aliyun', from: '+8613900139000', text: '收到', receivedAt: Date.UTC(2026, 11, 6, 19, 1, 0) },
    ]);
    expect(smsAliyun.inboundAnswer).toEqual({ code: 0, msg: '接收成功' });
  });

  it('refuses a push without the token, with another token, or when no token is configured', () => {
    for (const q of [undefined, {}, { token: 'smsup-token-0000000000000000' }]) {
      expect(() => smsAliyun.inbound!(cfg, req(q))).toThrow(expect.objectContaining({ code: 'RB_ERR_NOTIFY_AUTH' }));
    }
    const open = smsAliyun.config.parse({ ...cfg, inboundToken: undefined });
    expect(() => smsAliyun.inbound!(open, req({ token }))).toThrow(expect.objectContaining({ code: 'RB_ERR_NOTIFY_AUTH', message: expect.stringContaining('inboundToken') }));
  });

  it('refuses a body that is not the documented array', () => {
    expect(() => smsAliyun.inbound!(cfg, req({ token }, { phone_number: '1', content: '1' }))).toThrow(expect.objectContaining({ code: 'RB_ERR_NOTIFY_REJECTED' }));
  });

  it('lists its secrets and describes every config key', () => {
    expect(smsAliyun.secrets).toEqual(['accessKeySecret', 'inboundToken']);
    for (const [key, schema] of Object.entries(smsAliyun.config.shape)) expect(schema.description, key).toMatch(/\S{3}/);
  });
});
