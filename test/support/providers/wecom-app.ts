import { randomBytes } from 'node:crypto';
import { HttpFake, MinuteWindow, type FakeAnswer, type FakeRequest } from './http-fake.js';

/**
 * A local WeCom for application messages (developer.work.weixin.qq.com/document/path/91039 gettoken,
 * path/90236 message/send, path/90313 error codes):
 * - GET /cgi-bin/gettoken?corpid&corpsecret: 40013 for an unknown corp, 40001 for a wrong secret,
 *   else `{access_token, expires_in}`.
 * - POST /cgi-bin/message/send?access_token: 40014 for an unknown token, 42001 for an expired one,
 *   40056 for another agentid; touser is userids joined by '|': unknown ones are named in
 *   `invaliduser` (lower-cased), all unknown is 81013; with `enable_duplicate_check` the same request
 *   JSON within `duplicate_check_interval` (default 1800 s) is answered ok and not delivered again;
 *   more than 30 a minute to one member are answered ok and dropped, as WeCom documents.
 */

const err = (errcode: number, errmsg: string): FakeAnswer => ({
  status: 200,
  body: { errcode, errmsg: `${errmsg}, hint: [1733540000_12_${errcode}], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}` },
});

export interface WecomAppFakeOptions {
  corpId: string;
  corpSecret: string;
  agentId: number;
  /** Members of the corp the app can reach. */
  users: string[];
  /** Token lifetime the fake announces (WeCom: 7200). */
  expiresIn?: number;
}

export interface WecomAppFake extends HttpFake {
  /** Tokens handed out by gettoken. */
  readonly tokensIssued: () => number;
  /** Make every token handed out so far answer 42001 (expired), as after 7200 s. */
  expireTokens(): void;
  /** Messages answered ok but not delivered: duplicates within the check interval, and over 30/min/member. */
  readonly notDelivered: string[];
}

export function wecomAppFake(o: WecomAppFakeOptions): WecomAppFake {
  const tokens = new Map<string, { expired: boolean }>();
  const seen = new Map<string, number>(); // duplicate check: request JSON + user → last delivery time
  const perMember = new Map<string, MinuteWindow>();
  const users = new Set(o.users.map((u) => u.toLowerCase()));
  const notDelivered: string[] = [];
  let issued = 0;

  const handle = (req: FakeRequest): FakeAnswer => {
    if (req.method === 'GET' && req.url.pathname === '/cgi-bin/gettoken') {
      if (req.url.searchParams.get('corpid') !== o.corpId) {
        fake.refused.push('40013 invalid corpid');
        return err(40013, 'invalid corpid');
      }
      if (req.url.searchParams.get('corpsecret') !== o.corpSecret) {
        fake.refused.push('40001 invalid credential');
        return err(40001, 'invalid credential, access_token is invalid or not latest');
      }
      const token = randomBytes(48).toString('base64url');
      tokens.set(token, { expired: false });
      issued++;
      return { status: 200, body: { errcode: 0, errmsg: 'ok', access_token: token, expires_in: o.expiresIn ?? 7200 } };
    }
    if (req.method !== 'POST' || req.url.pathname !== '/cgi-bin/message/send') return { status: 404, body: 'not found' };
    const t = tokens.get(req.url.searchParams.get('access_token') ?? '');
    if (!t) return err(40014, 'invalid access_token');
    if (t.expired) return err(42001, 'access_token expired');
    const b = req.json as Record<string, unknown> | undefined;
    if (!b || (b.msgtype !== 'text' && b.msgtype !== 'markdown')) return err(40008, 'invalid message type');
    if (b.agentid !== o.agentId) return err(40056, 'invalid agentid');
    const content = (b[b.msgtype] as { content?: unknown } | undefined)?.content;
    if (typeof content !== 'string' || !content) return err(44004, 'empty content');
    if (Buffer.byteLength(content, 'utf8') > 2048) return err(45002, 'content size out of limit');
    if (typeof b.touser !== 'string' || !b.touser) return err(40031, 'invalid userid list');
    const to = b.touser.split('|');
    const invalid = to.filter((u) => !users.has(u.toLowerCase())).map((u) => u.toLowerCase());
    if (invalid.length === to.length) return err(81013, 'user & party & tag all invalid');
    const interval = b.enable_duplicate_check === 1 ? (typeof b.duplicate_check_interval === 'number' ? b.duplicate_check_interval : 1800) : 0;
    const key = /(?:编号|Ref) ([0-9A-HJKMNP-TV-Z]{26})$/.exec(content)?.[1];
    const now = Date.now();
    for (const u of to.filter((x) => users.has(x.toLowerCase()))) {
      const dupKey = `${u}\n${req.raw.toString('utf8')}`;
      const last = seen.get(dupKey);
      if (interval > 0 && last !== undefined && now - last < interval * 1000) {
        notDelivered.push(`duplicate to ${u}`);
        continue;
      }
      const w = perMember.get(u) ?? new MinuteWindow(30);
      perMember.set(u, w);
      if (!w.take(now)) {
        notDelivered.push(`over 30/min to ${u}`);
        continue;
      }
      seen.set(dupKey, now);
      fake.accepted.push({ to: u, text: content, ...(key ? { idempotencyKey: key } : {}) });
    }
    return { status: 200, body: { errcode: 0, errmsg: 'ok', invaliduser: invalid.join('|'), invalidparty: '', invalidtag: '', unlicenseduser: '', msgid: randomBytes(24).toString('base64url') } };
  };

  const fake = new HttpFake({
    failure: (mode) => (mode === 'rate-limited' ? err(45009, 'api freq out of limit') : { status: 500, body: '<html><body>500 Internal Server Error</body></html>' }),
    handle,
  }) as HttpFake & { tokensIssued: () => number; expireTokens: () => void; notDelivered: string[] };
  fake.tokensIssued = () => issued;
  fake.expireTokens = () => {
    for (const t of tokens.values()) t.expired = true;
  };
  fake.notDelivered = notDelivered;
  return fake;
}
