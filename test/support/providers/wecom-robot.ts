import { HttpFake, MinuteWindow, type FakeAnswer, type FakeRequest } from './http-fake.js';

/**
 * A local WeCom group robot (developer.work.weixin.qq.com/document/path/91770): POST
 * /cgi-bin/webhook/send?key=KEY, JSON `{msgtype, text|markdown: {content}}`. It refuses an unknown
 * key with errcode 93000, a type other than text/markdown with 40008, empty content with 44004,
 * content over 2048 (text) / 4096 (markdown) UTF-8 bytes with 45002, the 21st message within a minute
 * with 45009 as WeCom does; every answer is HTTP 200 with `{errcode, errmsg}`.
 */

const ok = (): FakeAnswer => ({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
const err = (errcode: number, errmsg: string): FakeAnswer => ({
  status: 200,
  body: { errcode, errmsg: `${errmsg}, hint: [1733540000_11_${errcode}], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}` },
});

export interface WecomRobotFakeOptions {
  key: string;
  /** Messages a minute before 45009 (WeCom: 20). */
  perMinute?: number;
}

export function wecomRobotFake(opts: WecomRobotFakeOptions): HttpFake {
  const window = new MinuteWindow(opts.perMinute ?? 20);
  const fake: HttpFake = new HttpFake({
    failure: (mode) => (mode === 'rate-limited' ? err(45009, 'api freq out of limit') : { status: 500, body: '<html><body>500 Internal Server Error</body></html>' }),
    handle: (req: FakeRequest) => {
      if (req.method !== 'POST' || req.url.pathname !== '/cgi-bin/webhook/send') return { status: 404, body: 'not found' };
      if (req.url.searchParams.get('key') !== opts.key) {
        fake.refused.push('93000 invalid webhook url');
        return err(93000, 'invalid webhook url');
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return err(40058, 'invalid Request Parameter');
      const body = req.json as { msgtype?: string; text?: { content?: unknown; mentioned_list?: unknown }; markdown?: { content?: unknown } } | undefined;
      if (!body || (body.msgtype !== 'text' && body.msgtype !== 'markdown')) return err(40008, 'invalid message type');
      const content = body.msgtype === 'text' ? body.text?.content : body.markdown?.content;
      if (typeof content !== 'string' || content.length === 0) return err(44004, 'empty content');
      if (Buffer.byteLength(content, 'utf8') > (body.msgtype === 'text' ? 2048 : 4096)) return err(45002, 'content size out of limit');
      if (!window.take()) return err(45009, 'api freq out of limit');
      fake.accepted.push({ to: 'group', text: content });
      return ok();
    },
  });
  return fake;
}
