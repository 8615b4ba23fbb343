import { z } from 'zod';
import { ChannelError, type Channel, type ChannelPlugin, type InboundReply } from '../channel.js';
import { aliyunRpc } from './aliyun-rpc.js';
import { e164, nationalOrIntl, namedParams, paramKey, requireCallbackToken } from './cloud-common.js';

/**
 * SMS through Alibaba Cloud 短信服务 (Dysmsapi 2017-05-25, SendSms), with an approved sign name and
 * notification template. The template's variables are filled from the message's facts by
 * `templateParams` (variable → fact). OutId carries the outbox row id: Aliyun echoes it in delivery
 * receipts; its document says SendSms itself is not idempotent, so once-only rests on the outbox.
 *
 * Replies (上行短信) come back by Aliyun's "HTTP 批量推送" (SmsUp): a JSON array POSTed to the URL
 * configured in the console, unsigned, so that URL must carry `?token=<inboundToken>`.
 */

export const aliyunSmsConfig = z.object({
  accessKeyId: z.string().min(1).describe('AccessKey ID of a RAM user allowed dysms:SendSms (RAM console → 用户 → 创建 AccessKey)'),
  accessKeySecret: z.string().min(6).describe('That AccessKey\'s secret (a secret: redacted in logs and REST answers)'),
  signName: z.string().min(1).describe('Approved 短信签名 (sign name), e.g. 红管家; shown as 【红管家】 before the text'),
  templateCode: z.string().min(1).describe('Approved notification template code (模板CODE), e.g. SMS_468123456'),
  templateParams: z
    .record(z.string().min(1), paramKey)
    .default({ estate: 'estate', device: 'device', time: 'time', event: 'event', reply: 'reply' })
    .describe('Template variable → message fact (estate, device, event, time, reply); the default fits the template ${estate}${device}${time}${event}，回复${reply}确认'),
  maxParamLength: z.number().int().min(0).default(35).describe('Characters per template variable value; longer values are cut (Aliyun documents 35 for notification variables; 0 = no cut)'),
  endpoint: z.url().default('https://dysmsapi.aliyuncs.com/').describe('Dysmsapi endpoint URL (tests point it at a local server)'),
  regionId: z.string().min(1).default('cn-hangzhou').describe('RegionId sent with each call; Dysmsapi serves mainland SMS from cn-hangzhou'),
  perMinute: z
    .number()
    .int()
    .positive()
    .default(300_000)
    .describe('Messages per minute the outbox keeps to: SendSms takes 5000 calls per second per account (documented QPS); per-number limits come back as rate limited'),
  inboundToken: z
    .string()
    .min(16)
    .optional()
    .describe('Token the SmsUp (上行短信) push URL must carry as ?token=…; replies are refused while unset (a secret)'),
});
export type AliyunSmsConfig = z.output<typeof aliyunSmsConfig>;

/** One SmsUp item, as Aliyun documents it (send_time in China time, yyyy-MM-dd HH:mm:ss). */
const smsUp = z.object({
  phone_number: z.string().min(1),
  content: z.string(),
  send_time: z.string().optional(),
  dest_code: z.string().optional(),
  sequence_id: z.union([z.string(), z.number()]).optional(),
  sign_name: z.string().optional(),
});

/** "2017-09-01 00:00:00" (UTC+8) → epoch ms; undefined when absent or unreadable. */
function chinaTime(s: string | undefined): number | undefined {
  const m = s && /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]! - 8, +m[5]!, +m[6]!);
}

export const smsAliyun: ChannelPlugin<typeof aliyunSmsConfig> = {
  type: 'sms-aliyun',
  config: aliyunSmsConfig,
  secrets: ['accessKeySecret', 'inboundToken'],
  create(id, cfg, deps): Channel {
    const now = deps.now ?? Date.now;
    return {
      type: 'sms-aliyun',
      id,
      accepts: ['phone'],
      perMinute: cfg.perMinute,
      async send(msg, { signal }) {
        if (msg.to.kind !== 'phone') throw new ChannelError('RB_ERR_NOTIFY_REJECTED', `sms-aliyun sends to phone numbers, not ${msg.to.kind}`);
        const answer = await aliyunRpc({
          endpoint: cfg.endpoint,
          action: 'SendSms',
          version: '2017-05-25',
          regionId: cfg.regionId,
          params: {
            PhoneNumbers: nationalOrIntl(msg.to.phone),
            SignName: cfg.signName,
            TemplateCode: cfg.templateCode,
            TemplateParam: JSON.stringify(namedParams(cfg.templateParams, msg, cfg.maxParamLength)),
            OutId: msg.id,
          },
          cred: cfg,
          signal,
          now: now(),
          what: 'Aliyun SMS',
        });
        return { state: 'sent', providerId: typeof answer.BizId === 'string' ? answer.BizId : undefined };
      },
    };
  },
  inbound(cfg, req): InboundReply[] {
    requireCallbackToken(cfg.inboundToken, req.query, 'inboundToken');
    const items = z.array(smsUp).safeParse(req.body);
    if (!items.success) throw new ChannelError('RB_ERR_NOTIFY_REJECTED', 'an SmsUp push is a JSON array of {phone_number, content, send_time, …}');
    const at = Date.now();
    return items.data.map((u) => ({ channelId: req.channelId ?? 'sms-aliyun', from: e164(u.phone_number), text: u.content.trim(), receivedAt: chinaTime(u.send_time) ?? at }));
  },
  inboundAnswer: { code: 0, msg: '接收成功' },
};
