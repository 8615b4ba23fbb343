import { createHmac } from 'node:crypto';
import { HttpFake, MinuteWindow, type FakeAnswer, type FakeRequest } from './http-fake.js';

/**
 * A local DingTalk custom robot (open.dingtalk.com/document/robots/custom-robot-access,
 * …/customize-robot-security-settings): POST /robot/send?access_token=…&timestamp=…&sign=….
 * It checks 加签 by the documented algorithm, written out here on its own (HmacSHA256 keyed by the
 * secret over `timestamp + "\n" + secret`, Base64; the query string carries it URL-encoded), refuses a
 * timestamp more than one hour off (310000), a wrong sign (310000), an unknown token (300001), a
 * malformed body (40035), and the 21st message of a minute (130101). Every answer is HTTP 200.
 */

const answer = (errcode: number, errmsg: string): FakeAnswer => ({ status: 200, body: { errcode, errmsg } });

export interface DingtalkFakeOptions {
  accessToken: string;
  /** The robot's 加签 secret; without it the robot is secured by keyword instead. */
  secret?: string;
  perMinute?: number;
}

export function dingtalkRobotFake(o: DingtalkFakeOptions): HttpFake {
  const window = new MinuteWindow(o.perMinute ?? 20);
  const refuse = (why: string, errcode: number, errmsg: string): FakeAnswer => {
    fake.refused.push(why);
    return answer(errcode, errmsg);
  };
  const handle = (req: FakeRequest): FakeAnswer => {
    if (req.method !== 'POST' || req.url.pathname !== '/robot/send') return { status: 404, body: 'not found' };
    const q = req.url.searchParams;
    if (q.get('access_token') !== o.accessToken) return refuse('token', 300001, 'token is not exist');
    if (o.secret) {
      const ts = Number(q.get('timestamp'));
      if (!Number.isInteger(ts) || Math.abs(Date.now() - ts) > 3_600_000) return refuse('timestamp', 310000, 'invalid timestamp');
      const expected = createHmac('sha256', o.secret).update(`${q.get('timestamp')}\n${o.secret}`).digest('base64');
      // URLSearchParams has undone the urlEncode; a '+' sent raw would read as ' ' here, as on DingTalk.
      if (q.get('sign') !== expected) return refuse('sign', 310000, 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]');
    }
    const b = req.json as { msgtype?: string; text?: { content?: unknown }; markdown?: { title?: unknown; text?: unknown } } | undefined;
    let text: unknown;
    if (b?.msgtype === 'text') text = b.text?.content;
    else if (b?.msgtype === 'markdown') text = typeof b.markdown?.title === 'string' && b.markdown.title ? b.markdown?.text : undefined;
    else return answer(400105, '不支持的消息类型');
    if (typeof text !== 'string' || !text) return answer(40035, '缺少参数 json');
    if (!window.take()) return answer(130101, 'send too fast, exceed 20 times per minute');
    fake.accepted.push({ to: 'group', text });
    return answer(0, 'ok');
  };
  const fake: HttpFake = new HttpFake({
    failure: (mode) => (mode === 'rate-limited' ? answer(130101, 'send too fast, exceed 20 times per minute') : { status: 500, body: '<html><body>500 Internal Server Error</body></html>' }),
    handle,
  });
  return fake;
}
