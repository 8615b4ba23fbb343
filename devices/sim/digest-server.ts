import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log.js';
import { digestResponse, parseAuthHeader } from '../http-digest.js';
import { ISAPI_XMLNS } from '../access-gate/isapi-commands.js';

/**
 * The device side of a Hikvision ISAPI HTTP server, shared by the simulators (access-gate door
 * control, barrier-gate camera): HTTP Digest like the firmware (challenge with realm, nonce,
 * qop="auth"; RFC 7616 verification; the nonce count is checked so a replayed Authorization is
 * refused; a right answer on an expired nonce is challenged again with stale=TRUE), a body cap, and
 * ISAPI `ResponseStatus` answers for 401 and 500 (wire facts: access-gate/isapi-commands.ts).
 * What each device does with an authenticated request is its `handle`.
 */
/** What a simulator's `listen` takes: where, and the Digest account it accepts. */
export interface ListenOptions {
  host?: string | undefined;
  /** 0 (default) picks a free port. */
  port?: number | undefined;
  username: string;
  password: string;
  /** Digest realm; Hikvision devices use their model name (each simulator has its default). */
  realm?: string | undefined;
}

export interface DigestServerOptions extends ListenOptions {
  realm: string;
  /** Digest algorithms offered, preferred first (a WWW-Authenticate header each). Default ["MD5"]. */
  algorithms?: ReadonlyArray<'MD5' | 'SHA-256'> | undefined;
  /** Largest request body read; a longer one drops the connection. */
  maxBody: number;
  log: Logger;
  /** "device" or "camera", for the log line when `handle` throws. */
  what: string;
  /** An authenticated request; `answer` writes the response. */
  handle(req: DeviceRequest, answer: Answer): Promise<void>;
}

export interface DeviceRequest {
  method: string;
  url: string;
  body: string;
}

export type Answer = (status: number, body: string, contentType?: string) => void;

export interface DeviceServer {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  address(): string;
  close(): Promise<void>;
}

const NONCE_TTL_MS = 5 * 60_000;
const MAX_NONCES = 256;
const XML_TYPE = 'application/xml; charset="UTF-8"';

/** A ResponseStatus as firmware writes it. */
export function responseStatusXml(url: string, code: number, text: string, sub: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="2.0" xmlns="${ISAPI_XMLNS}">\n` +
    `<requestURL>${url.replace(/[<>&]/g, '')}</requestURL>\n<statusCode>${code}</statusCode>\n` +
    `<statusString>${text}</statusString>\n<subStatusCode>${sub}</subStatusCode>\n</ResponseStatus>\n`
  );
}

/** `GET /ISAPI/System/deviceInfo` as firmware writes it (Hikvision ISAPI core protocol, System/deviceInfo). */
export function deviceInfoXml(model: string, what: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<DeviceInfo version="2.0" xmlns="${ISAPI_XMLNS}">\n` +
    `<deviceName>Red Butler simulated ${what}</deviceName>\n<deviceID>88</deviceID>\n<model>${model.replace(/[<>&]/g, '')}</model>\n` +
    `<serialNumber>${model.replace(/[<>&]/g, '')}20260101CCRRSIM0001</serialNumber>\n<macAddress>44:19:b6:00:00:01</macAddress>\n` +
    `<firmwareVersion>V3.2.30</firmwareVersion>\n<firmwareReleasedDate>build 260101</firmwareReleasedDate>\n<deviceType>${what === 'camera' ? 'IPCamera' : 'ACS'}</deviceType>\n</DeviceInfo>\n`
  );
}

function send(res: ServerResponse, status: number, body: string, type = XML_TYPE): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startDigestServer(o: DigestServerOptions): Promise<DeviceServer> {
  const { realm } = o;
  const algorithms = o.algorithms ?? ['MD5'];
  const nonces = new Map<string, { issued: number; nc: number }>();

  function challenge(res: ServerResponse, stale: boolean): void {
    const nonce = randomBytes(16).toString('hex');
    if (nonces.size >= MAX_NONCES) nonces.delete(nonces.keys().next().value as string);
    nonces.set(nonce, { issued: Date.now(), nc: 0 });
    const headers = algorithms.map(
      (a) => `Digest qop="auth", realm="${realm}", nonce="${nonce}", stale="${stale ? 'TRUE' : 'FALSE'}"${a === 'MD5' ? '' : `, algorithm=${a}`}`,
    );
    res.setHeader('WWW-Authenticate', headers);
    send(res, 401, responseStatusXml('', 4, 'Invalid Operation', 'badAuthorization'));
  }

  /** true: authenticated; 'stale': right credentials on an expired nonce; false: anything else. */
  function verify(req: IncomingMessage, method: string): boolean | 'stale' {
    const parsed = parseAuthHeader(req.headers.authorization ?? '');
    const p = typeof parsed === 'string' ? undefined : parsed.find((c) => c.scheme === 'digest')?.params;
    const nc = p?.get('nc') ?? '';
    const algorithm = p?.get('algorithm') ?? 'MD5';
    if (!p || p.get('username') !== o.username || p.get('realm') !== realm || p.get('uri') !== req.url) return false;
    if (p.get('qop') !== 'auth' || !/^[0-9a-f]{8}$/i.test(nc) || !p.get('cnonce')) return false;
    if (!algorithms.some((a) => a === algorithm.toUpperCase())) return false;
    const nonce = p.get('nonce') ?? '';
    const expected = digestResponse({ algorithm, realm, nonce, username: o.username, password: o.password, method, uri: req.url ?? '', qop: 'auth', nc, cnonce: p.get('cnonce') });
    const given = Buffer.from(p.get('response') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return false;
    const known = nonces.get(nonce);
    if (!known || Date.now() - known.issued > NONCE_TTL_MS) return 'stale';
    const count = parseInt(nc, 16);
    if (count <= known.nc) return false; // a replay
    known.nc = count;
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const method = req.method ?? '';
    const auth = verify(req, method);
    if (auth !== true) return challenge(res, auth === 'stale');
    // Every ISAPI device answers System/deviceInfo; the gateway uses it to check its login.
    if (method === 'GET' && req.url === '/ISAPI/System/deviceInfo') return send(res, 200, deviceInfoXml(realm, o.what));
    await o.handle({ method, url: req.url ?? '', body }, (status, text, type) => send(res, status, text, type));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > o.maxBody) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        o.log.warn({ err }, `simulated ${o.what} failed to answer`);
        if (!res.headersSent) send(res, 500, responseStatusXml(req.url ?? '', 3, 'Device Error', 'deviceError'));
      });
    });
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    address: () => `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
