import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import type { Logger } from '../../lib/log.js';
import { digestResponse, parseAuthHeader } from '../http-digest.js';
import { ISAPI_DOOR_CMDS, ISAPI_XMLNS, type IsapiDoorCmd } from './isapi-commands.js';

/**
 * The device side of ISAPI remote door control, for the access-gate simulator: an HTTP server that
 * answers `PUT /ISAPI/AccessControl/RemoteControl/door/{n}` behind HTTP Digest like a Hikvision
 * controller (challenge with realm, nonce, qop="auth"; RFC 7616 verification, nonce count checked
 * so a replayed Authorization is refused), validates the `RemoteControlDoor` XML and answers an
 * ISAPI `ResponseStatus` (wire facts and sources: isapi-commands.ts).
 */
export interface DeviceListenOptions {
  host?: string | undefined;
  /** 0 (default) picks a free port. */
  port?: number | undefined;
  username: string;
  password: string;
  /** Digest realm; Hikvision terminals use their model name. Default "DS-K1T671MF". */
  realm?: string | undefined;
  /** Digest algorithms offered, preferred first (a WWW-Authenticate header each). Default ["MD5"]. */
  algorithms?: ReadonlyArray<'MD5' | 'SHA-256'> | undefined;
  /** After an `open`, push a door.opened event (minor 0x19) like a door that then opens. Default true. */
  pushOnOpen?: boolean | undefined;
}

export interface DoorExecution {
  door: number;
  cmd: IsapiDoorCmd;
  at: number;
}

/** Knobs shared with the simulator, so they can be set before or after `listen`. */
export interface DeviceState {
  executions: DoorExecution[];
  failNext: number;
  delayMs: number;
}

export interface DeviceServer {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  address(): string;
  close(): Promise<void>;
}

const DOOR_PATH = /^\/ISAPI\/AccessControl\/RemoteControl\/door\/(\d{1,5})$/;
const MAX_BODY = 16 * 1024;
const NONCE_TTL_MS = 5 * 60_000;
const MAX_NONCES = 256;

const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, processEntities: false, maxNestedTags: 8 });

/** A ResponseStatus as firmware writes it. */
export function responseStatusXml(url: string, code: number, text: string, sub: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="2.0" xmlns="${ISAPI_XMLNS}">\n` +
    `<requestURL>${url.replace(/[<>&]/g, '')}</requestURL>\n<statusCode>${code}</statusCode>\n` +
    `<statusString>${text}</statusString>\n<subStatusCode>${sub}</subStatusCode>\n</ResponseStatus>\n`
  );
}

function readCmd(body: string): IsapiDoorCmd | 'bad-format' | 'bad-content' {
  let doc: unknown;
  try {
    doc = xml.parse(body, true);
  } catch {
    return 'bad-format';
  }
  const root = (doc as { RemoteControlDoor?: unknown } | undefined)?.RemoteControlDoor;
  const cmd = typeof root === 'object' && root !== null ? (root as { cmd?: unknown }).cmd : undefined;
  return typeof cmd === 'string' && (ISAPI_DOOR_CMDS as readonly string[]).includes(cmd) ? (cmd as IsapiDoorCmd) : 'bad-content';
}

export async function startDeviceServer(
  o: DeviceListenOptions & { doors: number; state: DeviceState; log: Logger; onExecuted(e: DoorExecution): void },
): Promise<DeviceServer> {
  const realm = o.realm ?? 'DS-K1T671MF';
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
    answer(res, 401, responseStatusXml('', 4, 'Invalid Operation', 'badAuthorization'));
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

  function answer(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/xml; charset="UTF-8"', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const method = req.method ?? '';
    const url = req.url ?? '';
    const auth = verify(req, method);
    if (auth !== true) return challenge(res, auth === 'stale');
    const m = DOOR_PATH.exec(url);
    if (!m) return answer(res, 404, responseStatusXml(url, 4, 'Invalid Operation', 'notSupport'));
    if (method !== 'PUT') return answer(res, 405, responseStatusXml(url, 4, 'Invalid Operation', 'methodNotAllowed'));
    const door = Number(m[1]);
    if (door < 1 || door > o.doors) return answer(res, 400, responseStatusXml(url, 6, 'Invalid Content', 'badParameters'));
    const cmd = readCmd(body);
    if (cmd === 'bad-format') return answer(res, 400, responseStatusXml(url, 5, 'Invalid XML Format', 'badXmlFormat'));
    if (cmd === 'bad-content') return answer(res, 400, responseStatusXml(url, 6, 'Invalid XML Content', 'badXmlContent'));
    if (o.state.delayMs > 0) await new Promise((r) => setTimeout(r, o.state.delayMs));
    if (o.state.failNext > 0) {
      o.state.failNext -= 1;
      return answer(res, 403, responseStatusXml(url, 4, 'Invalid Operation', 'invalidOperation'));
    }
    // Like a controller, it acts on a command it has read even if the caller has given up meanwhile.
    const execution = { door, cmd, at: Date.now() };
    o.state.executions.push(execution);
    answer(res, 200, responseStatusXml(url, 1, 'OK', 'ok'));
    o.log.debug(execution, 'simulated door command executed');
    o.onExecuted(execution);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        o.log.warn({ err }, 'simulated device failed to answer');
        if (!res.headersSent) answer(res, 500, responseStatusXml(req.url ?? '', 3, 'Device Error', 'deviceError'));
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
