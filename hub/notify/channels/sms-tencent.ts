import { z } from 'zod';
import { ChannelError, type Channel, type ChannelPlugin, type InboundReply } from '../channel.js';
import { clip, e164, fail, notJson, paramKey, post, providerText, requireCallbackToken, untilChinaMidnight } from './cloud-common.js';
import { tc3Authorization } from './sign-tencent.js';

/**
 * SMS through Tencent Cloud 短信 (API 3.0 SendSms, version 2021-01-11), signed TC3-HMAC-SHA256
 * (sign-tencent.ts). The approved template's {1}, {2}, … are filled in order from the message's
 * facts by `templateParams`. SessionContext carries the outbox row id (Tencent echoes it in receipts
 * and replies; SendSms itself is not idempotent, so once-only rests on the outbox).
 *
 * Replies (回复短信) come back by the 回复回调 URL configured in the SMS console: one JSON object
 * {extend, mobile, nationcode, sign, text, time}, unsigned, so that URL must carry
 * `?token=<inboundToken>`.
 */

export const tencentSmsConfig = z.object({
  secretId: z.string().min(1).describe('SecretId of a CAM API key allowed sms:SendSms (访问管理 → API密钥管理)'),
  secretKey: z.string().min(6).describe('Its SecretKey (a secret: redacted in logs and REST answers)'),
  smsSdkAppId: z.string().min(1).describe('SmsSdkAppId of the SMS application (短信控制台 → 应用管理), e.g. 1400006666'),
  signName: z.string().min(1).describe('Approved 签名内容 (sign name), e.g. 红管家'),
  templateId: z.string().min(1).describe('Approved 正文模板 ID, e.g. 1110'),
  templateParams: z
    .array(paramKey)
    .default(['estate', 'device', 'time', 'event', 'reply'])
    .describe('Message facts for the template\'s {1}, {2}, … in order; the default fits {1}{2}{3}{4}，回复{5}确认'),
  maxParamLength: z.number().int().min(0).default(0).describe('Characters per template variable value; longer values are cut (0 = no cut; see the variable limits of your template type)'),
  endpoint: z.url().default('https://sms.tencentcloudapi.com/').describe('SMS API endpoint URL (tests point it at a local server)'),
  region: z.string().min(1).default('ap-guangzhou').describe('X-TC-Region: ap-guangzhou, ap-beijing or ap-nanjing'),
  perMinute: z
    .number()
    .int()
    .positive()
    .default(180_000)
    .describe('Messages per minute the outbox keeps to: SendSms takes 3000 requests per second (documented default); per-number limits come back as rate limited'),
  inboundToken: z
    .string()
    .min(16)
    .optional()
    .describe('Token the 回复回调 (reply callback) URL must carry as ?token=…; replies are refused while unset (a secret)'),
});
export type TencentSmsConfig = z.output<typeof tencentSmsConfig>;

interface TencentAnswer {
  Response?: {
    Error?: { Code?: string; Message?: string };
    SendStatusSet?: { Code?: string; Message?: string; SerialNo?: string; PhoneNumber?: string }[];
    RequestId?: string;
  };
}

export function tencentError(code: string, message: unknown, now: number, secrets: readonly string[]): ChannelError {
  const text = `Tencent SMS: ${providerText(code, message, secrets)}`;
  if (code.startsWith('AuthFailure') || (code.startsWith('UnauthorizedOperation') && !/Arrears/.test(code))) return fail('RB_ERR_NOTIFY_AUTH', text);
  if (code.startsWith('RequestLimitExceeded')) return fail('RB_ERR_NOTIFY_RATE_LIMITED', text, 1_000);
  if (code.startsWith('LimitExceeded.') && code !== 'LimitExceeded.PhoneNumberCountLimit') {
    const wait = /ThirtySecond/.test(code) ? 30_000 : /OneHour/.test(code) ? 3_600_000 : /Daily/.test(code) ? untilChinaMidnight(now) : 60_000;
    return fail('RB_ERR_NOTIFY_RATE_LIMITED', text, wait);
  }
  if (/Template|Signature(IncorrectOrUnapproved)?$|MissingSignature/.test(code)) return fail('RB_ERR_NOTIFY_TEMPLATE', text);
  if (code.startsWith('InternalError') || code === 'FailedOperation.JsonParseFail' || code.startsWith('ResourceUnavailable')) return fail('RB_ERR_NOTIFY_UNAVAILABLE', text);
  // InvalidParameterValue.IncorrectPhoneNumber, FailedOperation.PhoneNumberInBlacklist,
  // FailedOperation.ContainSensitiveWord, FailedOperation.InsufficientBalanceInSmsPackage, …
  return fail('RB_ERR_NOTIFY_REJECTED', text);
}

/** 回复短信 callback body, as Tencent documents it. */
const reply = z.object({
  mobile: z.string().min(1),
  nationcode: z.union([z.string(), z.number()]).optional(),
  text: z.string(),
  sign: z.string().optional(),
  time: z.number().optional(),
  extend: z.string().nullable().optional(),
});

export const smsTencent: ChannelPlugin<typeof tencentSmsConfig> = {
  type: 'sms-tencent',
  config: tencentSmsConfig,
  secrets: ['secretKey', 'inboundToken'],
  create(id, cfg, deps): Channel {
    const now = deps.now ?? Date.now;
    const host = new URL(cfg.endpoint).host;
    return {
      type: 'sms-tencent',
      id,
      accepts: ['phone'],
      perMinute: cfg.perMinute,
      async send(msg, { signal }) {
        if (msg.to.kind !== 'phone') throw new ChannelError('RB_ERR_NOTIFY_REJECTED', `sms-tencent sends to phone numbers, not ${msg.to.kind}`);
        const at = now();
        const payload = JSON.stringify({
          PhoneNumberSet: [e164(msg.to.phone)],
          SmsSdkAppId: cfg.smsSdkAppId,
          SignName: cfg.signName,
          TemplateId: cfg.templateId,
          TemplateParamSet: cfg.templateParams.map((k) => clip(msg.params[k], cfg.maxParamLength)),
          SessionContext: msg.id,
        });
        const timestamp = Math.floor(at / 1000);
        const signed = { 'content-type': 'application/json; charset=utf-8', host, 'x-tc-action': 'SendSms' };
        const { authorization } = tc3Authorization(cfg.secretId, cfg.secretKey, { method: 'POST', headers: signed, payload, service: 'sms', timestamp });
        const headers = {
          authorization,
          'content-type': signed['content-type'],
          'x-tc-action': 'SendSms',
          'x-tc-timestamp': String(timestamp),
          'x-tc-version': '2021-01-11',
          'x-tc-region': cfg.region,
        };
        const answer = await post(cfg.endpoint, { headers, body: payload }, signal, 'Tencent SMS');
        const res = (answer.json as TencentAnswer | undefined)?.Response;
        if (!res || typeof res !== 'object') throw notJson('Tencent SMS', answer);
        const secrets = [cfg.secretKey];
        if (res.Error) throw tencentError(res.Error.Code ?? 'UnknownError', res.Error.Message, at, secrets);
        const status = res.SendStatusSet?.[0];
        if (!status) throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', 'Tencent SMS: the answer has no SendStatusSet');
        if (status.Code !== 'Ok') throw tencentError(status.Code ?? 'UnknownError', status.Message, at, secrets);
        return { state: 'sent', providerId: status.SerialNo || undefined };
      },
    };
  },
  inbound(cfg, req): InboundReply[] {
    requireCallbackToken(cfg.inboundToken, req.query, 'inboundToken');
    const items = z.union([reply, z.array(reply)]).safeParse(req.body);
    if (!items.success) throw new ChannelError('RB_ERR_NOTIFY_REJECTED', 'a 回复短信 callback is a JSON object {mobile, nationcode, text, sign, time, extend}');
    const at = Date.now();
    return (Array.isArray(items.data) ? items.data : [items.data]).map((r) => ({
      channelId: req.channelId ?? 'sms-tencent',
      from: r.nationcode !== undefined && !r.mobile.startsWith('+') ? `+${String(r.nationcode).replace(/^\+/, '')}${r.mobile}` : e164(r.mobile),
      text: r.text.trim(),
      receivedAt: r.time !== undefined ? r.time * 1000 : at,
    }));
  },
  inboundAnswer: { result: 0, errmsg: 'OK' },
};
