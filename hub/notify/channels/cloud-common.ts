import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ChannelError, type ChannelErrorCode, type OutgoingMessage } from '../channel.js';

/**
 * What the SMS and voice cloud channels (Aliyun SMS, Aliyun voice, Tencent SMS) share: one HTTP POST
 * that turns network failures and aborts into the outbox's coded errors, phone number forms, the
 * template-variable mapping, provider texts cleaned for the outbox row, and the callback token.
 */

export interface HttpAnswer {
  status: number;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/**
 * POST once. An abort of `signal` (the outbox's per-send timeout) is RB_ERR_NOTIFY_TIMEOUT; a
 * connection that fails is RB_ERR_NOTIFY_UNAVAILABLE. Neither message carries the body (it is
 * signed, and holds the recipient's number).
 */
export async function post(url: string, init: { headers: Record<string, string>; body: string }, signal: AbortSignal, what: string): Promise<HttpAnswer> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal, redirect: 'error' });
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw new ChannelError('RB_ERR_NOTIFY_TIMEOUT', `${what}: no answer from ${hostOf(url)} before the send timed out`);
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `${what}: ${hostOf(url)} could not be reached (${cause})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the provider';
  }
}

/**
 * A provider's own words for the outbox row: code and the first line of its message, cut short,
 * with anything that looks like our own request echoed back (Aliyun's SignatureDoesNotMatch
 * includes "server string to sign is: …") dropped, and every given secret masked.
 */
export function providerText(code: string, message: unknown, secrets: readonly string[]): string {
  let m = typeof message === 'string' ? message : '';
  m = m.split(/server string to sign is|\n/i)[0]!.trim();
  if (m.length > 160) m = `${m.slice(0, 157)}…`;
  let out = m ? `${code}: ${m}` : code;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

export function fail(code: ChannelErrorCode, text: string, retryAfterMs?: number): ChannelError {
  return new ChannelError(code, text, retryAfterMs);
}

/** An answer that is not the provider's JSON at all (a proxy's error page, a 5xx). */
export function notJson(what: string, a: HttpAnswer): ChannelError {
  return new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `${what}: HTTP ${a.status} without the provider's JSON answer`);
}

const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
/** Until the next midnight in China (UTC+8): when daily per-number limits reset. */
export function untilChinaMidnight(now: number): number {
  const day = 86_400_000;
  return day - ((now + SHANGHAI_OFFSET_MS) % day);
}

/** `13800138000`, `+8613800138000`, `008613800138000` → the 11 digits; others lose a leading + / 00. */
export function nationalOrIntl(phone: string): string {
  const p = phone.replace(/[\s-]/g, '');
  const cn = /^(?:\+|00)?86(1\d{10})$/.exec(p);
  if (cn) return cn[1]!;
  return p.replace(/^(\+|00)/, '');
}

/** E.164: `13800138000` → `+8613800138000`; `0085212345678` → `+85212345678`. */
export function e164(phone: string): string {
  const p = phone.replace(/[\s-]/g, '');
  if (/^1\d{10}$/.test(p)) return `+86${p}`;
  if (/^86(1\d{10})$/.test(p)) return `+${p}`;
  if (p.startsWith('00')) return `+${p.slice(2)}`;
  return p.startsWith('+') ? p : `+${p}`;
}

/** The message facts a template variable can take (OutgoingMessage.params). */
export const PARAM_KEYS = ['estate', 'device', 'event', 'time', 'reply'] as const;
export type ParamKey = (typeof PARAM_KEYS)[number];
export const paramKey = z.enum(PARAM_KEYS);

/** A value cut to the provider's per-variable limit (0: no limit). */
export function clip(value: string, max: number): string {
  const chars = Array.from(value);
  return max > 0 && chars.length > max ? chars.slice(0, max).join('') : value;
}

/** Template variable name → value, from a mapping variable → message param (Aliyun's TemplateParam / TtsParam). */
export function namedParams(mapping: Readonly<Record<string, ParamKey>>, msg: OutgoingMessage, max: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [variable, key] of Object.entries(mapping)) out[variable] = clip(msg.params[key], max);
  return out;
}

/** The query value `name` of a callback request (first one when repeated). */
function queryValue(query: Record<string, string | string[] | undefined> | undefined, name: string): string | undefined {
  const v = query?.[name];
  return Array.isArray(v) ? v[0] : v;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The callback's `?token=` must equal the configured token (compared in constant time). Without a
 * configured token every callback is refused: an unsigned callback would let anyone acknowledge.
 */
export function requireCallbackToken(expected: string | undefined, query: Record<string, string | string[] | undefined> | undefined, configKey: string): void {
  if (!expected) throw new ChannelError('RB_ERR_NOTIFY_AUTH', `replies are refused: ${configKey} is not set (put the same token in the callback URL as ?token=…)`);
  const got = queryValue(query, 'token');
  if (got === undefined || !timingSafeEqual(digest(got), digest(expected))) {
    throw new ChannelError('RB_ERR_NOTIFY_AUTH', `the callback URL's token does not match ${configKey}`);
  }
}
