import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Channel, ChannelDeps, ChannelErrorCode, ChannelPlugin, OutgoingMessage, SendOptions, SendOutcome } from '../channel.js';
import { fail, httpRequest, plainBody, snippet, type Call } from './http.js';

/**
 * Feishu (飞书) / Lark custom bot (自定义机器人, open.feishu.cn/document/client-docs/bot-v3/add-custom-bot):
 * POST {baseUrl}/open-apis/bot/v2/hook/{hookId} with `{msg_type, content, timestamp, sign}`.
 *
 * Signature (签名校验): the HMAC-SHA256 key is `timestamp + "\n" + secret`, the message is empty; the
 * digest is Base64-encoded and sent with the timestamp (seconds, within one hour of Feishu's clock) in
 * the JSON body. A bot takes 100 requests a minute and 5 a second; a request body is at most 20 KB.
 * The custom bot has no idempotency key.
 */

export const feishuBotConfig = z.object({
  hookId: z.string().min(6).describe('The last part of the bot\'s webhook address, …/open-apis/bot/v2/hook/{hookId} (群设置 → 群机器人 → 自定义机器人). A secret.'),
  secret: z.string().min(6).optional().describe('The 签名校验 secret shown under the bot\'s security settings. A secret. Omit only for a bot secured by keywords or an IP allow-list.'),
  baseUrl: z.url().default('https://open.feishu.cn').describe('Feishu host; https://open.larksuite.com for Lark, or a test server.'),
  msgType: z.enum(['post', 'text']).default('post').describe('Message type: "post" (rich text: a title, the text, a clickable ack link) or "text".'),
  mentionAll: z.boolean().default(false).describe('@all (所有人) in each message; needs the bot to be allowed to @all in the group.'),
  perMinute: z.number().int().positive().default(100).describe('Messages a minute the outbox sends through this bot; Feishu documents 100 a minute (and 5 a second) per custom bot.'),
});
export type FeishuBotConfig = z.output<typeof feishuBotConfig>;

/** The `sign` of the custom bot: HmacSHA256 keyed by `timestamp + "\n" + secret` over no data, Base64. */
export function feishuSign(secret: string, timestampS: number | string): string {
  return createHmac('sha256', Buffer.from(`${timestampS}\n${secret}`, 'utf8')).update(Buffer.alloc(0)).digest('base64');
}

export function feishuErrorCode(code: number): ChannelErrorCode {
  switch (code) {
    case 11232: // frequency limited
      return 'RB_ERR_NOTIFY_RATE_LIMITED';
    case 19001: // param invalid: incoming webhook access token invalid
    case 19021: // sign match fail or timestamp is not within one hour from current time
    case 19022: // Ip Not Allowed
      return 'RB_ERR_NOTIFY_AUTH';
    case 2200: // internal error
      return 'RB_ERR_NOTIFY_UNAVAILABLE';
    default: // 9499 Bad Request, 19024 Key Words Not Found, 11246 content too large …
      return 'RB_ERR_NOTIFY_REJECTED';
  }
}

export function feishuContent(msg: OutgoingMessage, c: Pick<FeishuBotConfig, 'msgType' | 'mentionAll'>): { msg_type: string; content: unknown } {
  const max = 18_000; // under the 20 KB request body, leaving room for JSON escaping and the envelope
  if (c.msgType === 'text') {
    const at = c.mentionAll ? '<at user_id="all">所有人</at> ' : '';
    return { msg_type: 'text', content: { text: `${at}${plainBody(msg, max)}` } };
  }
  const text = msg.ackUrl ? msg.text.replace(msg.ackUrl, '').trimEnd() : msg.text;
  const lines: unknown[][] = plainBody({ title: '', text }, max)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => [{ tag: 'text', text: l }]);
  if (msg.ackUrl) lines.push([{ tag: 'a', text: msg.lang === 'en' ? 'Acknowledge' : '确认', href: msg.ackUrl }]);
  if (c.mentionAll) lines.push([{ tag: 'at', user_id: 'all', user_name: msg.lang === 'en' ? 'all' : '所有人' }]);
  return { msg_type: 'post', content: { post: { [msg.lang === 'en' ? 'en_us' : 'zh_cn']: { title: msg.title, content: lines } } } };
}

class FeishuBot implements Channel {
  readonly type = 'feishu-bot';
  readonly accepts = ['group'] as const;
  readonly perMinute: number;
  private readonly now: () => number;
  constructor(
    readonly id: string,
    private readonly c: FeishuBotConfig,
    deps: ChannelDeps,
  ) {
    this.perMinute = c.perMinute;
    this.now = deps.now ?? Date.now;
  }

  async send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome> {
    const ts = Math.floor(this.now() / 1000);
    const sign = this.c.secret ? feishuSign(this.c.secret, ts) : undefined;
    const call: Call = { what: `Feishu bot ${this.id}`, secrets: [this.c.hookId, this.c.secret, sign], signal: opts.signal };
    const body = { ...(sign ? { timestamp: String(ts), sign } : {}), ...feishuContent(msg, this.c) };
    const res = await httpRequest(call, `${this.c.baseUrl.replace(/\/+$/, '')}/open-apis/bot/v2/hook/${encodeURIComponent(this.c.hookId)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
    });
    // Current answers are {code, msg, data}; older ones {StatusCode, StatusMessage}.
    const a = (res.json ?? {}) as { code?: unknown; msg?: unknown; StatusCode?: unknown; StatusMessage?: unknown };
    const code = typeof a.code === 'number' ? a.code : a.StatusCode;
    if (typeof code !== 'number') {
      if (res.status === 401 || res.status === 403) throw fail(call, 'RB_ERR_NOTIFY_AUTH', `HTTP ${res.status}${snippet(res.text)}`);
      throw fail(call, res.status >= 400 ? 'RB_ERR_NOTIFY_REJECTED' : 'RB_ERR_NOTIFY_UNAVAILABLE', `HTTP ${res.status} without a code${snippet(res.text)}`);
    }
    if (code !== 0) {
      const mapped = feishuErrorCode(code);
      throw fail(call, mapped, `code ${code} ${String(a.msg ?? a.StatusMessage ?? '')}`.trim(), mapped === 'RB_ERR_NOTIFY_RATE_LIMITED' ? 60_000 : undefined);
    }
    return { state: 'sent' };
  }
}

export const feishuBotChannel: ChannelPlugin<typeof feishuBotConfig> = {
  type: 'feishu-bot',
  config: feishuBotConfig,
  secrets: ['hookId', 'secret'],
  create: (id, config, deps) => new FeishuBot(id, config, deps),
};
