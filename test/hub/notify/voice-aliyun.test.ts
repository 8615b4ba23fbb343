import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type Channel } from '../../../hub/notify/channel.js';
import { voiceAliyun, type AliyunVoiceConfig } from '../../../hub/notify/channels/voice-aliyun.js';
import { freePort } from '../../support/ports.js';
import { startAliyunProvider, type AliyunProvider } from '../../support/providers/aliyun.js';
import { channelConformance, message } from './channel-conformance.js';

const log = pino({ level: 'silent' });
const keyId = 'LTAI5tRedButlerVoice1';
const secret = 'aliyun-voice-secret-Qw3Er5Ty7Ui9';
const templates = { TTS_288000001: '红管家提醒您，${estate}${device}${event}，请尽快处理' };
const phone = { kind: 'phone', phone: '13800138000' } as const;

const provider = (): Promise<AliyunProvider> => startAliyunProvider({ product: 'voice', accessKeyId: keyId, accessKeySecret: secret, templates });

function channel(p: { url: string }, over: Partial<Record<keyof AliyunVoiceConfig, unknown>> = {}): Channel {
  return voiceAliyun.create('voice', voiceAliyun.config.parse({ accessKeyId: keyId, accessKeySecret: secret, ttsCode: 'TTS_288000001', endpoint: p.url, ...over }), { log });
}

async function failure(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

channelConformance('Aliyun voice (Dyvmsapi SingleCallByTts)', async () => {
  const p = await provider();
  return {
    channel: channel(p),
    badSecretChannel: channel(p, { accessKeySecret: 'not-the-secret-000000' }),
    unreachableChannel: channel({ url: `http://127.0.0.1:${await freePort()}/` }),
    provider: p,
    address: phone,
    secrets: [secret],
    close: () => p.close(),
  };
});

describe('Aliyun voice: request, templates and answers', () => {
  let p: AliyunProvider;
  beforeAll(async () => {
    p = await provider();
  });
  afterAll(() => p.close());
  const signal = () => AbortSignal.timeout(10_000);

  it('calls with the documented SingleCallByTts parameters; CalledShowNumber only in 专属模式', async () => {
    const msg = message(phone);
    const out = await channel(p).send(msg, { signal: signal() });
    expect(out).toMatchObject({ state: 'sent', providerId: expect.stringContaining('^') });
    expect(p.lastParams).toMatchObject({ Action: 'SingleCallByTts', Version: '2017-05-25', CalledNumber: '13800138000', TtsCode: 'TTS_288000001', PlayTimes: '3', OutId: msg.id });
    expect(p.lastParams).not.toHaveProperty('CalledShowNumber');
    expect(JSON.parse(p.lastParams!.TtsParam!)).toEqual({ estate: '幸福里', device: '3号楼单元门', event: '强行开门' });
    expect(p.accepted.at(-1)!.text).toBe('红管家提醒您，幸福里3号楼单元门强行开门，请尽快处理');

    await channel(p, { calledShowNumber: '057112345678', playTimes: 2 }).send(message(phone), { signal: signal() });
    expect(p.lastParams).toMatchObject({ CalledShowNumber: '057112345678', PlayTimes: '2' });
  });

  it('a TTS template the account does not have is RB_ERR_NOTIFY_TEMPLATE', async () => {
    const err = await failure(channel(p, { ttsCode: 'TTS_000000000' }).send(message(phone), { signal: signal() }));
    expect([err.code, err.retryable]).toEqual(['RB_ERR_NOTIFY_TEMPLATE', false]);
    expect(err.message).toContain('isv.TTS_TEMPLATE_ILLEGAL');
  });

  it("the called number's flow control (1 a minute) is RB_ERR_NOTIFY_RATE_LIMITED for a minute", async () => {
    p.answerNext('isv.BUSINESS_LIMIT_CONTROL', '触发分钟级流控Permits:1');
    const err = await failure(channel(p).send(message(phone), { signal: signal() }));
    expect([err.code, err.retryAfterMs, err.retryable]).toEqual(['RB_ERR_NOTIFY_RATE_LIMITED', 60_000, true]);
  });

  it('has no inbound side, lists its secret and describes every config key', () => {
    expect(voiceAliyun.inbound).toBeUndefined();
    expect(voiceAliyun.secrets).toEqual(['accessKeySecret']);
    for (const [key, schema] of Object.entries(voiceAliyun.config.shape)) expect(schema.description, key).toMatch(/\S{3}/);
  });
});
