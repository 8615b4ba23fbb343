import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Channel, ChannelDeps, ChannelErrorCode, ChannelPlugin, OutgoingMessage, SendOptions, SendOutcome } from '../channel.js';
import { clipBytes, fail, httpRequest, plainBody, snippet, type Call } from './http.js';

/**
 * DingTalk (钉钉) custom robot (自定义机器人, open.dingtalk.com/document/robots/custom-robot-access and
 * …/customize-robot-security-settings): POST {baseUrl}/robot/send?access_token=TOKEN&timestamp=T&sign=S
 * with `{msgtype: "text" | "markdown", …, at: {atMobiles, isAtAll}}`.
 *
 * 加签 (signing): string_to_sign = timestamp + "\n" + secret; HmacSHA256 keyed by the secret; Base64;
 * then urlEncode (UTF-8). `timestamp` is in milliseconds and must be within one hour of DingTalk's
 * clock. Each robot takes at most 20 messages a minute; beyond that it is throttled for 10 minutes
 * (errcode 130101 "send too fast, exceed 20 times per minute"; newer answers say 410100). The robot
 * has no idempotency key.
 */

export const dingtalkRobotConfig = z.object({
  accessToken: z.string().min(6).describe('The `access_token=` part of the robot\'s Webhook address (群设置 → 机器人 → 自定义 → Webhook). A secret.'),
  secret: z
    .string()
    .min(6)
    .optional()
    .describe('The 加签 secret (the SEC… string under 安全设置 → 加签). A secret. Omit only for a robot secured by keywords or IP allow-list.'),
  baseUrl: z.url().default('https://oapi.dingtalk.com').describe('DingTalk API host; change only for tests.'),
  msgtype: z.enum(['text', 'markdown']).default('markdown').describe('Message type: "markdown" (bold title, clickable ack link) or "text".'),
  atMobiles: z.array(z.string().regex(/^\+?\d{6,15}$/)).default([]).describe('Mobile numbers of group members to @ (their phones ring even in do-not-disturb chats).'),
  atAll: z.boolean().default(false).describe('@all (所有人).'),
  perMinute: z.number().int().positive().default(20).describe('Messages a minute the outbox sends through this robot; DingTalk documents 20 a minute per robot (then 10 minutes of throttling).'),
});
export type DingtalkRobotConfig = z.output<typeof dingtalkRobotConfig>;

/** The 加签 `sign` parameter, already URL-encoded as DingTalk's document shows it. */
export function dingtalkSign(secret: string, timestampMs: number | string): string {
  const digest = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
  return encodeURIComponent(digest);
}

/** DingTalk's throttle after the 21st message of a minute. */
export const DINGTALK_THROTTLE_MS = 10 * 60_000;

export function dingtalkErrorCode(errcode: number): ChannelErrorCode {
  switch (errcode) {
    case -1: // 系统繁忙
      return 'RB_ERR_NOTIFY_UNAVAILABLE';
    case 130101: // send too fast, exceed 20 times per minute
    case 410100: // 发送速度太快而限流
      return 'RB_ERR_NOTIFY_RATE_LIMITED';
    case 310000: // sign not match / invalid timestamp / keywords not in content / ip not in whitelist
    case 300001: // token is not exist
    case 400101: // access_token 不存在
    case 400102: // 机器人已停用
    case 400106: // 机器人不存在
      return 'RB_ERR_NOTIFY_AUTH';
    case 400013: // 群已被解散
      return 'RB_ERR_NOTIFY_GONE';
    default: // 400105 unsupported msgtype, 430101–430104 unsafe content, …
      return 'RB_ERR_NOTIFY_REJECTED';
  }
}

export function dingtalkBody(msg: OutgoingMessage, c: Pick<DingtalkRobotConfig, 'msgtype' | 'atMobiles' | 'atAll'>): Record<string, unknown> {
  const at = { atMobiles: c.atMobiles, isAtAll: c.atAll };
  // Mentions only ring when the numbers also appear in the text (DingTalk's message-type document).
  const mentions = c.atMobiles.length ? `\n${c.atMobiles.map((m) => `@${m}`).join(' ')}` : '';
  if (c.msgtype === 'markdown') {
    const link = msg.ackUrl ? `\n\n[${msg.lang === 'en' ? 'Acknowledge' : '确认'}](${msg.ackUrl})` : '';
    const text = msg.ackUrl ? msg.text.replace(msg.ackUrl, '').trimEnd() : msg.text;
    const head = `#### ${msg.title}\n\n`;
    const room = 5000 - Buffer.byteLength(head + link + mentions, 'utf8');
    return { msgtype: 'markdown', markdown: { title: msg.title, text: `${head}${clipBytes(text, room)}${link}${mentions}` }, at };
  }
  return { msgtype: 'text', text: { content: `${plainBody(msg, 5000 - Buffer.byteLength(mentions))}${mentions}` }, at };
}

class DingtalkRobot implements Channel {
  readonly type = 'dingtalk-robot';
  readonly accepts = ['group'] as const;
  readonly perMinute: number;
  private readonly now: () => number;
  constructor(
    readonly id: string,
    private readonly c: DingtalkRobotConfig,
    deps: ChannelDeps,
  ) {
    this.perMinute = c.perMinute;
    this.now = deps.now ?? Date.now;
  }

  async send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome> {
    const ts = this.now();
    const sign = this.c.secret ? dingtalkSign(this.c.secret, ts) : undefined;
    const call: Call = { what: `DingTalk robot ${this.id}`, secrets: [this.c.accessToken, this.c.secret, sign, sign && decodeURIComponent(sign)], signal: opts.signal };
    let url = `${this.c.baseUrl.replace(/\/+$/, '')}/robot/send?access_token=${encodeURIComponent(this.c.accessToken)}`;
    if (sign) url += `&timestamp=${ts}&sign=${sign}`;
    const res = await httpRequest(call, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(dingtalkBody(msg, this.c)),
    });
    const a = (res.json ?? {}) as { errcode?: unknown; errmsg?: unknown };
    if (typeof a.errcode !== 'number') throw fail(call, 'RB_ERR_NOTIFY_UNAVAILABLE', `HTTP ${res.status} without an errcode${snippet(res.text)}`);
    if (a.errcode !== 0) {
      const code = dingtalkErrorCode(a.errcode);
      throw fail(call, code, `errcode ${a.errcode} ${String(a.errmsg ?? '')}`.trim(), code === 'RB_ERR_NOTIFY_RATE_LIMITED' ? DINGTALK_THROTTLE_MS : undefined);
    }
    return { state: 'sent' };
  }
}

export const dingtalkRobotChannel: ChannelPlugin<typeof dingtalkRobotConfig> = {
  type: 'dingtalk-robot',
  config: dingtalkRobotConfig,
  secrets: ['accessToken', 'secret'],
  create: (id, config, deps) => new DingtalkRobot(id, config, deps),
};
