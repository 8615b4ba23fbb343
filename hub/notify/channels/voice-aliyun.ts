import { z } from 'zod';
import { ChannelError, type Channel, type ChannelPlugin } from '../channel.js';
import { aliyunRpc } from './aliyun-rpc.js';
import { nationalOrIntl, namedParams, paramKey } from './cloud-common.js';

/**
 * A voice call through Alibaba Cloud 语音服务 (Dyvmsapi 2017-05-25, SingleCallByTts): the approved
 * text-to-speech template is read out to the called number, its variables filled from the message's
 * facts by `ttsParams`. For unanswered severity ≥ 3 alerts (a fallback route or a "call by voice"
 * escalation level). Signed as every Aliyun RPC call (sign-aliyun.ts). OutId carries the outbox row
 * id (echoed in the call receipt); the call itself is not idempotent at Aliyun.
 *
 * Aliyun limits each called number to 1 call a minute, 5 an hour, 20 a day (documented flow
 * control); a call over it is answered isv.BUSINESS_LIMIT_CONTROL → RB_ERR_NOTIFY_RATE_LIMITED.
 */

export const aliyunVoiceConfig = z.object({
  accessKeyId: z.string().min(1).describe('AccessKey ID of a RAM user allowed dyvms:SingleCallByTts'),
  accessKeySecret: z.string().min(6).describe('That AccessKey\'s secret (a secret: redacted in logs and REST answers)'),
  ttsCode: z.string().min(1).describe('Approved text-to-speech template code (TTS_…), from the voice console'),
  ttsParams: z
    .record(z.string().min(1), paramKey)
    .default({ estate: 'estate', device: 'device', event: 'event' })
    .describe('TTS template variable → message fact (estate, device, event, time, reply); the default fits 红管家提醒您，${estate}${device}${event}，请尽快处理'),
  calledShowNumber: z
    .string()
    .optional()
    .describe('Number shown to the called person (专属模式: a number bought in the voice console); unset = 公共模式 (a number from the public pool)'),
  playTimes: z.number().int().min(1).max(3).default(3).describe('Times the message is read out in one call (1-3)'),
  maxParamLength: z.number().int().min(0).default(0).describe('Characters per template variable value; longer values are cut (0 = no cut)'),
  endpoint: z.url().default('https://dyvmsapi.aliyuncs.com/').describe('Dyvmsapi endpoint URL (tests point it at a local server)'),
  regionId: z.string().min(1).default('cn-hangzhou').describe('RegionId sent with each call'),
  perMinute: z
    .number()
    .int()
    .positive()
    .default(60_000)
    .describe('Calls per minute the outbox keeps to: SingleCallByTts takes 1000 calls per second per account (documented QPS)'),
});
export type AliyunVoiceConfig = z.output<typeof aliyunVoiceConfig>;

export const voiceAliyun: ChannelPlugin<typeof aliyunVoiceConfig> = {
  type: 'voice-aliyun',
  config: aliyunVoiceConfig,
  secrets: ['accessKeySecret'],
  create(id, cfg, deps): Channel {
    const now = deps.now ?? Date.now;
    return {
      type: 'voice-aliyun',
      id,
      accepts: ['phone'],
      perMinute: cfg.perMinute,
      async send(msg, { signal }) {
        if (msg.to.kind !== 'phone') throw new ChannelError('RB_ERR_NOTIFY_REJECTED', `voice-aliyun calls phone numbers, not ${msg.to.kind}`);
        const params: Record<string, string> = {
          CalledNumber: nationalOrIntl(msg.to.phone),
          TtsCode: cfg.ttsCode,
          TtsParam: JSON.stringify(namedParams(cfg.ttsParams, msg, cfg.maxParamLength)),
          PlayTimes: String(cfg.playTimes),
          OutId: msg.id,
        };
        if (cfg.calledShowNumber) params.CalledShowNumber = cfg.calledShowNumber;
        const answer = await aliyunRpc({
          endpoint: cfg.endpoint,
          action: 'SingleCallByTts',
          version: '2017-05-25',
          regionId: cfg.regionId,
          params,
          cred: cfg,
          signal,
          now: now(),
          what: 'Aliyun voice',
        });
        return { state: 'sent', providerId: typeof answer.CallId === 'string' ? answer.CallId : undefined };
      },
    };
  },
};
