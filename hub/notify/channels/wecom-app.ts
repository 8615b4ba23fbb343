import { z } from 'zod';
import type { Channel, ChannelDeps, ChannelPlugin, OutgoingMessage, SendOptions, SendOutcome } from '../channel.js';
import { fail, httpRequest, plainBody, type Call } from './http.js';
import { readWecomAnswer } from './wecom.js';

/**
 * WeCom (企业微信) application message (发送应用消息, developer.work.weixin.qq.com/document/path/90236)
 * to members of the corp by their userid:
 *
 *   GET  {baseUrl}/cgi-bin/gettoken?corpid=ID&corpsecret=SECRET → {access_token, expires_in: 7200}
 *   POST {baseUrl}/cgi-bin/message/send?access_token=TOKEN {touser, msgtype, agentid, text, …}
 *
 * The token is cached and shared by concurrent sends, refreshed `refreshEarlyS` before it expires,
 * and fetched again once when WeCom says it expired or is invalid (42001 / 40014: another process
 * holding the same secret can invalidate ours; path/91039 says to cache and not to fetch per call).
 *
 * Idempotency: with `enable_duplicate_check` WeCom does not deliver the same request JSON twice within
 * `duplicate_check_interval` seconds. The body carries the outbox row id (a reference line), so one
 * row's retries are the same JSON and two rows never are: a retry after a lost answer is not
 * delivered twice while the interval lasts.
 */

export const wecomAppConfig = z.object({
  corpId: z.string().min(1).describe('The corp ID (企业ID): admin console → 我的企业 → 企业信息.'),
  corpSecret: z.string().min(6).describe("The application's Secret (应用管理 → the app → Secret). A secret."),
  agentId: z.number().int().positive().describe('The application\'s AgentId (应用管理 → the app → AgentId).'),
  baseUrl: z.url().default('https://qyapi.weixin.qq.com').describe('WeCom API host; change only for a private WeCom deployment (政务微信) or tests.'),
  msgtype: z.enum(['text', 'markdown']).default('text').describe('Message type: "text" (shown in WeCom and in WeChat) or "markdown" (WeCom only).'),
  duplicateCheckSeconds: z
    .number()
    .int()
    .min(0)
    .max(14_400)
    .default(1800)
    .describe('enable_duplicate_check window: WeCom drops the same message to the same person within this many seconds (0 = off; WeCom allows at most 4 hours).'),
  refreshEarlyS: z.number().int().min(0).max(3600).default(300).describe('Fetch a new access token this many seconds before the cached one expires.'),
  perMinute: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Messages a minute the outbox sends through this app. WeCom limits an app to 30 a minute to one member and (seats × 200) recipients a day; message sending is outside the 10 000-a-minute API limit.'),
});
export type WecomAppConfig = z.output<typeof wecomAppConfig>;

interface Token {
  value: string;
  expiresAt: number;
}

class WecomApp implements Channel {
  readonly type = 'wecom-app';
  readonly accepts = ['wecom-user'] as const;
  readonly perMinute: number;
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;
  private readonly now: () => number;

  constructor(
    readonly id: string,
    private readonly c: WecomAppConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.perMinute = c.perMinute;
    this.now = deps.now ?? Date.now;
  }

  private base(): string {
    return this.c.baseUrl.replace(/\/+$/, '');
  }

  private call(signal: AbortSignal): Call {
    return { what: `WeCom app ${this.id}`, secrets: [this.c.corpSecret, this.token?.value], signal };
  }

  /** The cached token, or one fetch shared by every send that needs it now. */
  private async accessToken(signal: AbortSignal, force = false): Promise<Token> {
    if (!force && this.token && this.now() < this.token.expiresAt - this.c.refreshEarlyS * 1000) return this.token;
    if (force) this.token = undefined;
    this.pending ??= this.fetchToken(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetchToken(signal: AbortSignal): Promise<Token> {
    const call = this.call(signal);
    const q = new URLSearchParams({ corpid: this.c.corpId, corpsecret: this.c.corpSecret });
    const res = await httpRequest(call, `${this.base()}/cgi-bin/gettoken?${q}`, { method: 'GET' });
    const a = readWecomAnswer(call, res.status, res.json, res.text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof a.access_token !== 'string' || !a.access_token) throw fail(call, 'RB_ERR_NOTIFY_UNAVAILABLE', 'gettoken answered without an access_token');
    const ttlS = typeof a.expires_in === 'number' && a.expires_in > 0 ? a.expires_in : 7200;
    this.token = { value: a.access_token, expiresAt: this.now() + ttlS * 1000 };
    this.deps.log.debug({ channel: this.id, expiresInS: ttlS }, 'wecom access token fetched');
    return this.token;
  }

  body(msg: OutgoingMessage): Record<string, unknown> {
    if (msg.to.kind !== 'wecom-user') throw new Error(`wecom-app cannot send to ${msg.to.kind}`);
    const ref = `${msg.lang === 'en' ? 'Ref' : '编号'} ${msg.id}`;
    // message/send: text content at most 2048 bytes, markdown 2048 bytes (path/90236).
    const content = plainBody(msg, 2048, ref);
    return {
      touser: msg.to.userId,
      msgtype: this.c.msgtype,
      agentid: this.c.agentId,
      [this.c.msgtype]: { content },
      enable_duplicate_check: this.c.duplicateCheckSeconds > 0 ? 1 : 0,
      ...(this.c.duplicateCheckSeconds > 0 ? { duplicate_check_interval: this.c.duplicateCheckSeconds } : {}),
    };
  }

  async send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome> {
    const body = JSON.stringify(this.body(msg));
    let token = await this.accessToken(opts.signal);
    for (let attempt = 0; ; attempt++) {
      const call = this.call(opts.signal);
      const res = await httpRequest(call, `${this.base()}/cgi-bin/message/send?access_token=${encodeURIComponent(token.value)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
      });
      const code = (res.json as { errcode?: unknown } | undefined)?.errcode;
      if ((code === 42001 || code === 40014) && attempt === 0) {
        token = await this.accessToken(opts.signal, true);
        continue;
      }
      const a = readWecomAnswer(call, res.status, res.json, res.text) as { invaliduser?: unknown; msgid?: unknown };
      // Partly invalid recipients still answer errcode 0, naming them (lower-cased) in invaliduser.
      const invalid = typeof a.invaliduser === 'string' ? a.invaliduser.toLowerCase().split('|') : [];
      if (msg.to.kind === 'wecom-user' && invalid.includes(msg.to.userId.toLowerCase())) {
        throw fail(call, 'RB_ERR_NOTIFY_REJECTED', `user ${msg.to.userId} is not a member the app can reach (invaliduser)`);
      }
      return { state: 'sent', ...(typeof a.msgid === 'string' && a.msgid ? { providerId: a.msgid } : {}) };
    }
  }

  async close(): Promise<void> {
    this.token = undefined;
  }
}

export const wecomAppChannel: ChannelPlugin<typeof wecomAppConfig> = {
  type: 'wecom-app',
  config: wecomAppConfig,
  secrets: ['corpSecret'],
  create: (id, config, deps) => new WecomApp(id, config, deps),
};
