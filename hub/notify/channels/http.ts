import { ChannelError, redacted, type ChannelErrorCode } from '../channel.js';

/**
 * The one HTTP path of the IM and webhook channels (global fetch, the outbox's AbortSignal). It turns
 * what can go wrong on the wire into ChannelError codes the same way for every provider:
 * an abort (the outbox's per-send timeout, or the hub stopping) is RB_ERR_NOTIFY_TIMEOUT, a refused or
 * reset connection RB_ERR_NOTIFY_UNAVAILABLE, HTTP 5xx RB_ERR_NOTIFY_UNAVAILABLE, HTTP 429
 * RB_ERR_NOTIFY_RATE_LIMITED (with Retry-After). Provider-specific codes in a 2xx/4xx body are the
 * caller's to map.
 *
 * No message ever carries the URL (robot keys and access tokens live in it) and every message goes
 * through `scrub`, so a provider that echoes a credential back cannot leak it either.
 */

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface Call {
  /** Who we are talking to, for messages: e.g. "WeCom robot". Never the URL. */
  what: string;
  /** Every credential in play (keys, secrets, tokens, signatures): replaced in any message. */
  secrets: readonly (string | undefined)[];
  signal: AbortSignal;
}

/** Replace every credential in `text` by its redaction. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join(redacted(s));
  return out;
}

export function fail(call: Pick<Call, 'what' | 'secrets'>, code: ChannelErrorCode, detail: string, retryAfterMs?: number): ChannelError {
  return new ChannelError(code, scrub(`${call.what}: ${detail}`, call.secrets), retryAfterMs);
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function networkCode(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'network error';
}

/**
 * One request. Resolves with any answer below 500 except 429 (the caller reads the provider's own
 * codes); throws ChannelError for aborts, network failures, 5xx and 429.
 */
export async function httpRequest(call: Call, url: string, init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<HttpAnswer> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, signal: call.signal, redirect: 'error' });
    text = await res.text();
  } catch (err) {
    if (call.signal.aborted) throw fail(call, 'RB_ERR_NOTIFY_TIMEOUT', 'no answer before the send was given up');
    throw fail(call, 'RB_ERR_NOTIFY_UNAVAILABLE', `could not be reached (${networkCode(err)})`);
  }
  if (res.status === 429) {
    throw fail(call, 'RB_ERR_NOTIFY_RATE_LIMITED', `HTTP 429${snippet(text)}`, retryAfterMs(res.headers.get('retry-after')));
  }
  if (res.status >= 500) throw fail(call, 'RB_ERR_NOTIFY_UNAVAILABLE', `HTTP ${res.status}${snippet(text)}`);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A short, single-line excerpt of a provider's answer for an error message. */
export function snippet(text: string, max = 160): string {
  const one = text.replace(/\s+/g, ' ').trim();
  if (!one) return '';
  return `: ${one.length > max ? `${one.slice(0, max)}…` : one}`;
}

/** Cut `s` to at most `maxBytes` of UTF-8 without splitting a character (providers count bytes). */
export function clipBytes(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes - 3; // room for "…"
  // Step back over UTF-8 continuation bytes (10xxxxxx) to a character boundary.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}…`;
}

/**
 * The body a person reads: title, text, the one-tap link (appended when the text does not already
 * carry it) and an optional footer, within `maxBytes` of UTF-8. When it must be shortened, the text
 * is, never the title, the link or the footer.
 */
export function plainBody(msg: { title: string; text: string; ackUrl?: string | undefined }, maxBytes = Infinity, footer = ''): string {
  const foot = footer ? `\n${footer}` : '';
  const link = msg.ackUrl && !msg.text.includes(msg.ackUrl) ? `\n${msg.ackUrl}` : '';
  const whole = `${msg.title}\n${msg.text}${link}${foot}`;
  if (Buffer.byteLength(whole, 'utf8') <= maxBytes) return whole;
  const text = msg.ackUrl ? msg.text.replace(msg.ackUrl, '').trimEnd() : msg.text;
  const tail = `${msg.ackUrl ? `\n${msg.ackUrl}` : ''}${foot}`;
  const room = maxBytes - Buffer.byteLength(`${msg.title}\n${tail}`, 'utf8');
  return `${msg.title}\n${clipBytes(text, Math.max(room, 16))}${tail}`;
}
