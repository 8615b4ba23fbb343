import { z } from 'zod';
import type { Channel, ChannelPlugin, OutgoingMessage, SendOptions, SendOutcome } from '../channel.js';
import { clipBytes, httpRequest, plainBody, type Call } from './http.js';
import { readWecomAnswer } from './wecom.js';

/**
 * WeCom (企业微信) group robot (群机器人): POST {baseUrl}/cgi-bin/webhook/send?key=KEY with a JSON body
 * `{msgtype: "text" | "markdown", …}`. Documented at developer.work.weixin.qq.com/document/path/91770:
 * each robot takes at most 20 messages a minute; text content at most 2048 bytes, markdown 4096, both
 * UTF-8; `mentioned_list: ["@all"]` and `mentioned_mobile_list` work in text messages only. The
 * robot has no idempotency key: a retry after a lost answer can show the message twice.
 */

export const wecomRobotConfig = z.object({
  key: z.string().min(6).describe('The robot key: the `key=` part of the webhook address the group robot shows (群机器人 → 复制Webhook地址). A secret.'),
  baseUrl: z.url().default('https://qyapi.weixin.qq.com').describe('WeCom API host; change only for a private WeCom deployment (政务微信) or tests.'),
  msgtype: z.enum(['text', 'markdown']).default('text').describe('Message type: "text" (can @ people) or "markdown" (bold title, clickable ack link; no @ mentions).'),
  mentionAll: z.boolean().default(false).describe('Text messages only: @all (所有人) so everyone in the group is alerted.'),
  mentionMobiles: z.array(z.string().regex(/^\+?\d{6,15}$/)).default([]).describe('Text messages only: mobile numbers of group members to @.'),
  perMinute: z.number().int().positive().default(20).describe('Messages a minute the outbox sends through this robot; WeCom documents 20 a minute per robot.'),
});
export type WecomRobotConfig = z.output<typeof wecomRobotConfig>;

export function wecomRobotBody(msg: OutgoingMessage, c: Pick<WecomRobotConfig, 'msgtype' | 'mentionAll' | 'mentionMobiles'>): Record<string, unknown> {
  if (c.msgtype === 'markdown') {
    const link = msg.ackUrl ? `\n[${msg.lang === 'en' ? 'Acknowledge' : '确认'}](${msg.ackUrl})` : '';
    const text = msg.ackUrl ? msg.text.replace(msg.ackUrl, '').trimEnd() : msg.text;
    const head = `**${msg.title}**\n`;
    const room = 4096 - Buffer.byteLength(head + link, 'utf8');
    return { msgtype: 'markdown', markdown: { content: `${head}${clipBytes(text, room)}${link}` } };
  }
  const text: Record<string, unknown> = { content: plainBody(msg, 2048) };
  if (c.mentionAll) text.mentioned_list = ['@all'];
  if (c.mentionMobiles.length) text.mentioned_mobile_list = c.mentionMobiles;
  return { msgtype: 'text', text };
}

class WecomRobot implements Channel {
  readonly type = 'wecom-robot';
  readonly accepts = ['group'] as const;
  readonly perMinute: number;
  constructor(
    readonly id: string,
    private readonly c: WecomRobotConfig,
  ) {
    this.perMinute = c.perMinute;
  }

  async send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome> {
    const call: Call = { what: `WeCom robot ${this.id}`, secrets: [this.c.key], signal: opts.signal };
    const url = `${this.c.baseUrl.replace(/\/+$/, '')}/cgi-bin/webhook/send?key=${encodeURIComponent(this.c.key)}`;
    const res = await httpRequest(call, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(wecomRobotBody(msg, this.c)),
    });
    readWecomAnswer(call, res.status, res.json, res.text);
    return { state: 'sent' };
  }
}

export const wecomRobotChannel: ChannelPlugin<typeof wecomRobotConfig> = {
  type: 'wecom-robot',
  config: wecomRobotConfig,
  secrets: ['key'],
  create: (id, config) => new WecomRobot(id, config),
};
