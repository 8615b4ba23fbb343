import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * HTTP calls from the gateway to a device on the estate LAN (ISAPI door control, barrier control...).
 *
 * - One total deadline for the whole exchange, Digest retry included: a device that trickles bytes
 *   cannot hold a command past it (an idle timeout would not catch that).
 * - The answer is capped in bytes, by Content-Length and again while streaming.
 * - HTTP Digest authentication (RFC 7616, and RFC 2617 which it obsoletes): on a 401 carrying
 *   `WWW-Authenticate: Digest ...` the request is sent once more with an Authorization header.
 *   Hikvision ISAPI devices use Digest by default. Basic is deliberately not offered: it would send
 *   the password in clear over plain-HTTP LANs, so a Basic-only device simply gets its 401 back.
 * - Nothing here logs, and no error message carries the credentials (URLs with user:pass are refused).
 */
export interface DeviceRequestOptions {
  method: string;
  url: string | URL;
  body?: string | Buffer | undefined;
  contentType?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Total time for the whole exchange, including the Digest retry. */
  deadlineMs: number;
  /** Largest answer body accepted (default 1 MiB); past it the request is aborted. */
  maxResponseBytes?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface DeviceResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type DeviceRequestErrorKind = 'timeout' | 'aborted' | 'too-large' | 'network' | 'bad-request' | 'bad-challenge';

export class DeviceRequestError extends Error {
  override name = 'DeviceRequestError';
  constructor(
    readonly kind: DeviceRequestErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Longest WWW-Authenticate / Authorization value parsed; a real challenge is a few hundred bytes. */
export const MAX_AUTH_HEADER_CHARS = 4096;
const MAX_AUTH_PARAMS = 24;
const MAX_PARAM_CHARS = 1024;

// Authentication header syntax (RFC 7235 §2.1, §4.1): challenge = scheme [ token68 / #auth-param ].

export interface AuthChallenge {
  /** Lower case, e.g. "digest". */
  scheme: string;
  /** Parameter names in lower case; quoted values unquoted. */
  params: Map<string, string>;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** Parse one WWW-Authenticate (or Authorization) value. Returns the challenges or why it is malformed. */
export function parseAuthHeader(value: string): AuthChallenge[] | string {
  if (value.length > MAX_AUTH_HEADER_CHARS) return `longer than ${MAX_AUTH_HEADER_CHARS} characters`;
  const out: AuthChallenge[] = [];
  const n = value.length;
  let i = 0;
  const ws = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR.test(value[i] as string)) i++;
    return value.slice(start, i);
  };
  const quoted = (): string | undefined => {
    let s = '';
    for (i++; i < n; i++) {
      const c = value[i] as string;
      if (c === '"') return (i++, s);
      if (c === '\\') i++;
      if (i >= n || s.length >= MAX_PARAM_CHARS) return undefined;
      s += value[i];
    }
    return undefined;
  };
  for (;;) {
    while (i < n && /[ \t,]/.test(value[i] as string)) i++;
    if (i >= n) return out;
    const scheme = token().toLowerCase();
    if (!scheme) return `unexpected character at ${i}`;
    const params = new Map<string, string>();
    out.push({ scheme, params });
    for (;;) {
      while (i < n && /[ \t,]/.test(value[i] as string)) i++;
      const start = i;
      const name = token().toLowerCase();
      ws();
      if (!name || value[i] !== '=') {
        i = start; // the next challenge's scheme, or the end
        break;
      }
      i++;
      ws();
      const v = value[i] === '"' ? quoted() : token();
      if (v === undefined) return `unterminated or overlong quoted value of ${name}`;
      if (v === '' && value[i - 1] !== '"') {
        // `name=` then nothing: a token68 ("abc==") as Basic/Negotiate send; not ours to read.
        while (i < n && value[i] === '=') i++;
        continue;
      }
      if (v.length > MAX_PARAM_CHARS) return `value of ${name} too long`;
      if (params.has(name)) return `parameter ${name} given twice`;
      if (params.size === MAX_AUTH_PARAMS) return `more than ${MAX_AUTH_PARAMS} parameters`;
      params.set(name, v);
    }
  }
}

// Digest computation (RFC 7616 §3.4; the qop-less legacy form per RFC 2617 §3.2.2.1).

/** Algorithms we compute, strongest first (RFC 7616 §3.7: use the most preferred one offered). */
const ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['SHA-512-256', 'sha512-256'],
  ['SHA-256', 'sha256'],
  ['MD5', 'md5'],
]);

export interface DigestInput {
  /** As in the challenge, e.g. "MD5", "SHA-256", "MD5-sess". */
  algorithm: string;
  realm: string;
  nonce: string;
  username: string;
  password: string;
  method: string;
  /** The request-target exactly as sent: path and query. */
  uri: string;
  qop?: 'auth' | 'auth-int' | undefined;
  nc?: string | undefined;
  cnonce?: string | undefined;
  /** Request body; only used for qop=auth-int. */
  body?: Buffer | undefined;
}

function hasher(algorithm: string): { hash: (data: string | Buffer) => string; sess: boolean } | undefined {
  const upper = algorithm.toUpperCase();
  const sess = upper.endsWith('-SESS');
  const name = ALGORITHMS.get(sess ? upper.slice(0, -5) : upper);
  return name ? { hash: (data) => createHash(name).update(data).digest('hex'), sess } : undefined;
}

/** The `response` value of a Digest Authorization header. Throws on an algorithm we do not know. */
export function digestResponse(d: DigestInput): string {
  const h = hasher(d.algorithm);
  if (!h) throw new DeviceRequestError('bad-challenge', `unsupported digest algorithm ${JSON.stringify(d.algorithm)}`);
  let ha1 = h.hash(`${d.username}:${d.realm}:${d.password}`);
  if (h.sess) ha1 = h.hash(`${ha1}:${d.nonce}:${d.cnonce ?? ''}`);
  const a2 = d.qop === 'auth-int' ? `${d.method}:${d.uri}:${h.hash(d.body ?? Buffer.alloc(0))}` : `${d.method}:${d.uri}`;
  const ha2 = h.hash(a2);
  return d.qop ? h.hash(`${ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:${d.qop}:${ha2}`) : h.hash(`${ha1}:${d.nonce}:${ha2}`);
}

/** A Digest challenge we can answer. */
export interface DigestChallenge {
  params: Map<string, string>;
  algorithm: string;
  qop: 'auth' | 'auth-int' | undefined;
}

/** The Digest challenge to answer, `undefined` when none is offered, or a reason none is usable. */
export function pickDigestChallenge(headerValues: readonly string[]): DigestChallenge | string | undefined {
  const problems: string[] = [];
  let best: DigestChallenge | undefined;
  let bestRank = Infinity;
  for (const value of headerValues) {
    const parsed = parseAuthHeader(value);
    if (typeof parsed === 'string') {
      problems.push(`malformed WWW-Authenticate (${parsed})`);
      continue;
    }
    for (const { scheme, params } of parsed) {
      if (scheme !== 'digest') continue;
      const algorithm = params.get('algorithm') ?? 'MD5';
      const base = algorithm.toUpperCase().replace(/-SESS$/, '');
      const rank = [...ALGORITHMS.keys()].indexOf(base);
      const offered = params.get('qop')?.split(',').map((q) => q.trim().toLowerCase());
      const qop = offered === undefined ? undefined : offered.includes('auth') ? 'auth' : offered.includes('auth-int') ? 'auth-int' : null;
      if (params.get('realm') === undefined || !params.get('nonce')) problems.push('Digest challenge without realm or nonce');
      else if (rank < 0) problems.push(`unsupported digest algorithm ${JSON.stringify(algorithm.slice(0, 40))}`);
      else if (qop === null) problems.push(`unsupported qop ${JSON.stringify(params.get('qop')?.slice(0, 40))}`);
      else if (rank < bestRank) [best, bestRank] = [{ params, algorithm, qop }, rank];
    }
  }
  return best ?? (problems.length > 0 ? problems.join('; ') : undefined);
}

const quote = (s: string): string => `"${s.replace(/[\\"]/g, '\\$&')}"`;

function authorization(c: DigestChallenge, method: string, uri: string, username: string, password: string, body: Buffer | undefined): string {
  if (!/^[\x20-\x7e]*$/.test(username)) throw new DeviceRequestError('bad-request', 'username must be printable ASCII');
  const realm = c.params.get('realm') ?? '';
  const nonce = c.params.get('nonce') ?? '';
  const cnonce = randomBytes(16).toString('hex');
  const nc = '00000001'; // a fresh nonce from this very challenge: first use
  const response = digestResponse({ algorithm: c.algorithm, realm, nonce, username, password, method, uri, qop: c.qop, nc, cnonce, body });
  // RFC 7616 §3.4.4: with userhash=true the username is sent hashed.
  const userhash = c.params.get('userhash')?.toLowerCase() === 'true';
  const user = userhash ? (hasher(c.algorithm)?.hash(`${username}:${realm}`) ?? username) : username;
  const fields = [`username=${quote(user)}`, `realm=${quote(realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`];
  fields.push(`algorithm=${c.algorithm}`, `response=${quote(response)}`);
  if (c.qop) fields.push(`qop=${c.qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  const opaque = c.params.get('opaque');
  if (opaque !== undefined) fields.push(`opaque=${quote(opaque)}`);
  if (userhash) fields.push('userhash=true');
  return `Digest ${fields.join(', ')}`;
}

interface Exchange {
  response: DeviceResponse;
  authenticate: string[];
}

function checkUrl(raw: string | URL): URL {
  if (!URL.canParse(String(raw))) throw new DeviceRequestError('bad-request', 'device URL is not a valid URL');
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DeviceRequestError('bad-request', 'device URL must be http(s)');
  if (url.username || url.password) {
    throw new DeviceRequestError('bad-request', 'credentials belong in username/password, not in the device URL');
  }
  return url;
}

function exchange(url: URL, o: DeviceRequestOptions, auth: string | undefined, signal: AbortSignal, max: number, body: Buffer | undefined) {
  return new Promise<Exchange>((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { accept: 'application/xml, application/json;q=0.9, */*;q=0.5' };
    if (body !== undefined) headers['content-length'] = body.length;
    if (body !== undefined && o.contentType) headers['content-type'] = o.contentType;
    if (auth !== undefined) headers.authorization = auth;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const tooLarge = (): DeviceRequestError =>
      new DeviceRequestError('too-large', `answer from ${url.host} larger than ${max} bytes; aborted`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false: one connection per exchange, closed after it; nothing lingers between commands.
    const req = send(url, { method: o.method, headers, signal, agent: false }, (res) => {
      if (Number(res.headers['content-length']) > max) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) fail(tooLarge());
        else chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const response = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
        resolve({ response, authenticate: res.headersDistinct['www-authenticate'] ?? [] });
      });
      res.on('error', (err) => fail(new DeviceRequestError('network', `${url.host}: ${err.message}`)));
      res.on('close', () => fail(new DeviceRequestError('network', `${url.host} closed the connection mid-answer`)));
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(new DeviceRequestError('network', `${url.host}: ${err.code ?? err.message}`)));
    req.end(body);
  });
}

/**
 * One request to a device, with Digest authentication when it asks for it. Resolves with whatever
 * status the device answers (a 401 after the Digest retry means the credentials were refused);
 * rejects with a `DeviceRequestError` on deadline, abort, oversize answer, network failure or an
 * unusable challenge.
 */
export async function deviceRequest(o: DeviceRequestOptions): Promise<DeviceResponse> {
  const url = checkUrl(o.url);
  if (!(o.deadlineMs > 0)) throw new RangeError('deadlineMs must be > 0');
  const max = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const body = typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : o.body;
  if (o.signal?.aborted) throw new DeviceRequestError('aborted', `request to ${url.host} aborted before it was sent`);
  const ctl = new AbortController();
  let why: 'timeout' | 'aborted' | undefined;
  const timer = setTimeout(() => {
    why ??= 'timeout';
    ctl.abort();
  }, o.deadlineMs);
  const onAbort = (): void => {
    why ??= 'aborted';
    ctl.abort();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const first = await exchange(url, o, undefined, ctl.signal, max, body);
    if (first.response.status !== 401 || o.username === undefined) return first.response;
    const challenge = pickDigestChallenge(first.authenticate);
    if (challenge === undefined) return first.response;
    if (typeof challenge === 'string') throw new DeviceRequestError('bad-challenge', `${url.host}: ${challenge}`);
    const auth = authorization(challenge, o.method, url.pathname + url.search, o.username, o.password ?? '', body);
    return (await exchange(url, o, auth, ctl.signal, max, body)).response;
  } catch (err) {
    if (why === 'timeout') throw new DeviceRequestError('timeout', `${url.host} did not answer within ${o.deadlineMs} ms`);
    if (why === 'aborted') throw new DeviceRequestError('aborted', `request to ${url.host} aborted`);
    throw err;
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}
