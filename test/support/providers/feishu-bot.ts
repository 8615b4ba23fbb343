import { createHmac } from 'node:crypto';
import { HttpFake, MinuteWindow, type FakeAnswer, type FakeRequest } from './http-fake.js';

/**
 * A local Feishu custom bot (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot): POST
 * /open-apis/bot/v2/hook/{hookId} with `{timestamp, sign, msg_type, content}`. It checks 签名校验 by
 * the documented algorithm, written out here on its own (HmacSHA256 with key `timestamp + "\n" +
 * secret` over an empty message, Base64; timestamp in seconds within one hour), and answers as Feishu
 * does: 19001 unknown hook, 19021 bad sign or stale timestamp, 9499 a malformed body or one over
 * 20 KB, 11232 over 100 a minute or 5 a second; success `{"code":0,"data":{},"msg":"success"}`.
 */

const answer = (code: number, msg: string): FakeAnswer => ({ status: 200, body: { code, data: {}, msg } });

export interface FeishuFakeOptions {
  hookId: string;
  secret?: string;
  perMinute?: number;
}

/** All text a person would read in a post message: the title and every text/a element. */
function postText(content: unknown): string | undefined {
  const post = (content as { post?: Record<string, { title?: unknown; content?: unknown }> } | undefined)?.post;
  const lang = post && (post.zh_cn ?? post.en_us ?? post.ja_jp);
  if (!lang || !Array.isArray(lang.content)) return undefined;
  const parts: string[] = typeof lang.title === 'string' ? [lang.title] : [];
  for (const line of lang.content as unknown[]) {
    if (!Array.isArray(line)) return undefined;
    for (const el of line as { tag?: unknown; text?: unknown; href?: unknown }[]) {
      if (el.tag === 'text' || el.tag === 'a') parts.push(String(el.text ?? ''));
      if (el.tag === 'a') parts.push(String(el.href ?? ''));
    }
  }
  return parts.join('\n');
}

export function feishuBotFake(o: FeishuFakeOptions): HttpFake {
  const minute = new MinuteWindow(o.perMinute ?? 100);
  const seconds: number[] = [];
  const refuse = (why: string, code: number, msg: string): FakeAnswer => {
    fake.refused.push(why);
    return answer(code, msg);
  };
  const handle = (req: FakeRequest): FakeAnswer => {
    const m = /^\/open-apis\/bot\/v2\/hook\/([^/]+)$/.exec(req.url.pathname);
    if (req.method !== 'POST' || !m) return { status: 404, body: '404 page not found' };
    if (decodeURIComponent(m[1]!) !== o.hookId) return refuse('hook', 19001, 'param invalid: incoming webhook access token invalid');
    if (req.raw.length > 20 * 1024) return answer(9499, 'Bad Request');
    const b = req.json as { timestamp?: unknown; sign?: unknown; msg_type?: unknown; content?: { text?: unknown } } | undefined;
    if (!b) return answer(9499, 'Bad Request');
    if (o.secret) {
      const ts = Number(b.timestamp);
      const expected = createHmac('sha256', `${String(b.timestamp)}\n${o.secret}`).update('').digest('base64');
      if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 3600 || b.sign !== expected) {
        return refuse(Number.isInteger(ts) && Math.abs(Date.now() / 1000 - ts) > 3600 ? 'timestamp' : 'sign', 19021, 'sign match fail or timestamp is not within one hour from current time');
      }
    }
    const text = b.msg_type === 'text' ? (typeof b.content?.text === 'string' ? b.content.text : undefined) : b.msg_type === 'post' ? postText(b.content) : undefined;
    if (!text) return answer(9499, 'Bad Request');
    const now = Date.now();
    while (seconds.length && now - seconds[0]! >= 1000) seconds.shift();
    if (seconds.length >= 5 || !minute.take(now)) return answer(11232, 'frequency limited psm[lark.oapi.app_platform_runtime]appID[1]');
    seconds.push(now);
    fake.accepted.push({ to: 'group', text });
    return answer(0, 'success');
  };
  const fake: HttpFake = new HttpFake({
    failure: (mode) => (mode === 'rate-limited' ? answer(11232, 'frequency limited psm[lark.oapi.app_platform_runtime]appID[1]') : { status: 500, body: 'Internal Server Error' }),
    handle,
  });
  return fake;
}
