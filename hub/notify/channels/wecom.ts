import type { ChannelErrorCode } from '../channel.js';
import { fail, snippet, type Call } from './http.js';

/** What the WeCom robot and the WeCom application message share: WeCom's answers and their codes. */

/** WeCom global error codes (developer.work.weixin.qq.com/document/path/90313) as channel errors. */
export function wecomErrorCode(errcode: number): ChannelErrorCode {
  switch (errcode) {
    case -1: // 系统繁忙
      return 'RB_ERR_NOTIFY_UNAVAILABLE';
    case 45009: // 接口调用超过限制 (api freq out of limit)
    case 45033: // 接口并发调用超过限制
      return 'RB_ERR_NOTIFY_RATE_LIMITED';
    case 93000: // invalid webhook url: wrong key, or the robot was removed from the group
    case 40001: // invalid credential (wrong corpsecret)
    case 40013: // invalid corpid
    case 40091: // secret is invalid
    case 42001: // access_token expired
    case 40014: // invalid access_token
    case 40056: // invalid agentid
    case 60020: // not allowed to access from your ip (trusted IPs of the app)
    case 301002: // no permission to access (app not allowed)
      return 'RB_ERR_NOTIFY_AUTH';
    case 81013: // all recipients invalid or outside the app's visible range
    case 60111: // userid not found
      return 'RB_ERR_NOTIFY_REJECTED';
    default: // 40008 invalid message type, 44004 empty content, 45002 content too long, 93004 robot disabled …
      return 'RB_ERR_NOTIFY_REJECTED';
  }
}

/** How long WeCom wants us to wait after 45009: its limits are per minute. */
export const WECOM_RATE_WAIT_MS = 60_000;

interface WecomAnswer {
  errcode?: unknown;
  errmsg?: unknown;
}

export function readWecomAnswer(call: Pick<Call, 'what' | 'secrets'>, status: number, json: unknown, text: string): WecomAnswer & { errcode: number } {
  const a = (json ?? {}) as WecomAnswer;
  if (typeof a.errcode !== 'number') throw fail(call, 'RB_ERR_NOTIFY_UNAVAILABLE', `HTTP ${status} without an errcode${snippet(text)}`);
  if (a.errcode !== 0) {
    const code = wecomErrorCode(a.errcode);
    throw fail(call, code, `errcode ${a.errcode} ${String(a.errmsg ?? '')}`.trim(), code === 'RB_ERR_NOTIFY_RATE_LIMITED' ? WECOM_RATE_WAIT_MS : undefined);
  }
  return a as WecomAnswer & { errcode: number };
}

