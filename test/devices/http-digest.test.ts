import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeviceRequestError,
  deviceRequest,
  digestResponse,
  parseAuthHeader,
  pickDigestChallenge,
  type DeviceRequestOptions,
  type DeviceResponse,
} from '../../devices/http-digest.js';

const USER = 'admin';
const PASS = 'Hik-Pa55"word\\x';
const REALM = 'DS-K1T671MF';
const NONCE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/** An independent Digest check (straight from RFC 7616 §3.4.1), not the module's own code. */
function expectedResponse(p: Map<string, string>, method: string, password: string): string {
  const algo = (p.get('algorithm') ?? 'MD5').toUpperCase() === 'SHA-256' ? 'sha256' : 'md5';
  const h = (s: string): string => createHash(algo).update(s).digest('hex');
  const ha1 = h(`${p.get('username')}:${p.get('realm')}:${password}`);
  const ha2 = h(`${method}:${p.get('uri')}`);
  return h(`${ha1}:${p.get('nonce')}:${p.get('nc')}:${p.get('cnonce')}:${p.get('qop')}:${ha2}`);
}

interface Seen {
  method: string;
  url: string;
  authorization?: string | undefined;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A Digest-protected endpoint: challenges with `challenges`, accepts `password`. */
function digestHandler(challenges: string[], password = PASS): Handler {
  return (req, res) => {
    const parsed = parseAuthHeader(req.headers.authorization ?? '');
    const p = typeof parsed === 'string' ? undefined : parsed[0]?.params;
    if (p && p.get('response') === expectedResponse(p, req.method ?? '', password)) {
      res.writeHead(200, { 'content-type': 'application/xml' }).end('<ok/>');
      return;
    }
    res.writeHead(401, { 'www-authenticate': challenges }).end('unauthorized');
  };
}

const errorOf = async (p: Promise<unknown>): Promise<DeviceRequestError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeviceRequestError);
  return err as DeviceRequestError;
};

const put = (url: string, extra: Partial<DeviceRequestOptions> = {}): Promise<DeviceResponse> =>
  deviceRequest({ method: 'PUT', url, body: '<x/>', contentType: 'application/xml', deadlineMs: 2_000, ...extra });

describe('digest computation', () => {
  it('matches the RFC 2617 §3.5 example', () => {
    const response = digestResponse({
      algorithm: 'MD5',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    });
    expect(response).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('matches the RFC 7616 §3.9.1 examples (MD5 and SHA-256)', () => {
    const base = {
      realm: 'http-auth@example.org',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      username: 'Mufasa',
      password: 'Circle of Life',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth' as const,
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    };
    expect(digestResponse({ ...base, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(digestResponse({ ...base, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('parses challenges defensively', () => {
    const two = parseAuthHeader('Basic realm="x", Digest realm="a \\"b\\"", nonce=abc, qop="auth,auth-int"');
    expect(two).not.toBeTypeOf('string');
    const [basic, digest] = two as Exclude<typeof two, string>;
    expect(basic?.scheme).toBe('basic');
    expect(digest?.params.get('realm')).toBe('a "b"');
    expect(digest?.params.get('qop')).toBe('auth,auth-int');
    expect(parseAuthHeader('Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag==, Digest realm="r", nonce="n"')).toMatchObject([
      { scheme: 'negotiate' },
      { scheme: 'digest' },
    ]);
    expect(parseAuthHeader(`Digest realm="${'x'.repeat(5000)}"`)).toMatch(/longer than/);
    expect(parseAuthHeader('Digest realm="unterminated')).toMatch(/unterminated/);
    expect(parseAuthHeader('Digest realm="a", realm="b"')).toMatch(/twice/);
    expect(pickDigestChallenge(['Digest realm="r", nonce="n", algorithm=SHA-512']) as string).toMatch(/unsupported digest algorithm "SHA-512"/);
    expect(pickDigestChallenge(['Digest realm="r", nonce="n", qop="auth-conf"']) as string).toMatch(/unsupported qop/);
    expect(pickDigestChallenge(['Digest realm="r"']) as string).toMatch(/without realm or nonce/);
    expect(pickDigestChallenge(['Basic realm="r"'])).toBeUndefined();
  });
});

describe('deviceRequest over real HTTP', () => {
  const md5 = `Digest qop="auth", realm="${REALM}", nonce="${NONCE}", stale="FALSE"`;

  it('answers a Digest challenge (MD5, qop=auth) and retries once', async () => {
    const { url, seen } = await serve(digestHandler([md5]));
    const res = await put(`${url}/ISAPI/x?y=1`, { username: USER, password: PASS });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('<ok/>');
    expect(seen).toHaveLength(2);
    expect(seen[0]!.authorization).toBeUndefined();
    expect(seen.map((s) => s.body)).toEqual(['<x/>', '<x/>']);
    const p = (parseAuthHeader(seen[1]!.authorization!) as Array<{ params: Map<string, string> }>)[0]!.params;
    expect(Object.fromEntries(p)).toMatchObject({ username: USER, realm: REALM, nonce: NONCE, uri: '/ISAPI/x?y=1', qop: 'auth', nc: '00000001', algorithm: 'MD5' });
    expect(p.get('cnonce')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('prefers SHA-256 when the device offers it too', async () => {
    const sha = `Digest qop="auth", realm="${REALM}", nonce="${NONCE}", algorithm=SHA-256`;
    const { url, seen } = await serve(digestHandler([md5, sha]));
    expect((await put(url, { username: USER, password: PASS })).status).toBe(200);
    expect(seen[1]!.authorization).toContain('algorithm=SHA-256');
  });

  it('returns the 401 when the password is wrong, after exactly one retry', async () => {
    const { url, seen } = await serve(digestHandler([md5]));
    expect((await put(url, { username: USER, password: 'wrong' })).status).toBe(401);
    expect(seen).toHaveLength(2);
  });

  it('does not retry without credentials', async () => {
    const { url, seen } = await serve(digestHandler([md5]));
    expect((await put(url)).status).toBe(401);
    expect(seen).toHaveLength(1);
  });

  it('refuses an unknown algorithm and an oversized challenge with a clear error', async () => {
    const odd = await serve(digestHandler([`Digest realm="r", nonce="n", algorithm=SHA3-512, qop="auth"`]));
    const err = await errorOf(put(odd.url, { username: USER, password: PASS }));
    expect(err.kind).toBe('bad-challenge');
    expect(err.message).toMatch(/unsupported digest algorithm "SHA3-512"/);
    const huge = await serve(digestHandler([`Digest realm="${'r'.repeat(6000)}", nonce="n"`]));
    expect((await errorOf(put(huge.url, { username: USER, password: PASS }))).message).toMatch(/longer than 4096/);
  });

  it('keeps a total deadline, even against a device that trickles bytes', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 40);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const err = await errorOf(put(url, { deadlineMs: 400 }));
    const elapsed = Date.now() - started;
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/did not answer within 400 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(400 + 250);
  });

  it('stops when the caller aborts, and does not even connect when already aborted', async () => {
    const { url, seen } = await serve(() => undefined); // never answers
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const started = Date.now();
    expect((await errorOf(put(url, { deadlineMs: 5_000, signal: ctl.signal }))).kind).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(100 + 250);
    const before = seen.length;
    expect((await errorOf(put(url, { signal: AbortSignal.abort() }))).kind).toBe('aborted');
    expect(seen.length).toBe(before);
  });

  it('aborts an answer past the byte cap, declared or streamed', async () => {
    const declared = await serve((_req, res) => res.writeHead(200, { 'content-length': 2 * 1024 * 1024 }).end(Buffer.alloc(2 * 1024 * 1024)));
    const e1 = await errorOf(put(declared.url));
    expect(e1.kind).toBe('too-large');
    expect(e1.message).toMatch(/larger than 1048576 bytes/);
    const streamed = await serve((_req, res) => {
      res.writeHead(200); // chunked, no Content-Length
      for (let i = 0; i < 40; i++) res.write(Buffer.alloc(1024));
      res.end();
    });
    expect((await errorOf(put(streamed.url, { maxResponseBytes: 16 * 1024 }))).kind).toBe('too-large');
    expect((await put(streamed.url, { maxResponseBytes: 40 * 1024 })).body.length).toBe(40 * 1024);
  });

  it('refuses credentials in the URL and never puts the password in an error', async () => {
    const err = await errorOf(put(`http://admin:${encodeURIComponent(PASS)}@127.0.0.1:1/`));
    expect(err.kind).toBe('bad-request');
    expect(err.message).not.toContain('Pa55');
    const refused = await errorOf(put('http://127.0.0.1:1/', { username: USER, password: PASS }));
    expect(refused.kind).toBe('network');
    expect(refused.message).toMatch(/ECONNREFUSED/);
    expect(refused.message).not.toContain('Pa55');
  });
});
