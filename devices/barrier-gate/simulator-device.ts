import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import type { Logger } from '../../lib/log.js';
import { responseStatusXml } from '../access-gate/simulator-device.js';
import { digestResponse, parseAuthHeader } from '../http-digest.js';

/**
 * The camera side of ISAPI barrier control and plate lists, for the barrier-gate simulator: answers
 * `PUT /ISAPI/Parking/channels/{n}/barrierGate`, `GET .../barrierGate/barrierGateStatus`,
 * `PUT /ISAPI/Traffic/channels/{ch}/licensePlateAuditData/record?format=json` and
 * `PUT /ISAPI/Traffic/channels/{ch}/DelLicensePlateAuditData?format=json` behind HTTP Digest like a
 * Hikvision camera (qop="auth", nonce count checked so a replayed Authorization is refused). Wire
 * facts and sources: anpr-commands.ts and anpr-parse.ts.
 */
export interface DeviceListenOptions {
  host?: string | undefined;
  /** 0 (default) picks a free port. */
  port?: number | undefined;
  username: string;
  password: string;
  /** Digest realm; Hikvision cameras use their model name. Default "DS-TCG406-E". */
  realm?: string | undefined;
  /** After a barrier open/close, push the barrier status like a camera whose arm then moves. Default true. */
  pushOnMove?: boolean | undefined;
}

export type CtrlMode = 'open' | 'close' | 'lock' | 'unlock';

export interface BarrierExecution {
  lane: number;
  ctrlMode: CtrlMode;
  at: number;
}

/** Knobs and state shared with the simulator, so they can be set before or after `listen`. */
export interface DeviceState {
  executions: BarrierExecution[];
  /** List requests carried out (delete and record PUTs). */
  listRequests: number;
  /** Delete-all requests carried out: one per list replace. */
  listClears: number;
  failNext: number;
  delayMs: number;
  allow: Set<string>;
  block: Set<string>;
  /** Barrier status per lane: 0 no signal, 1 closed, 2 open. */
  barrier: Map<number, 0 | 1 | 2>;
}

export interface DeviceServer {
  address(): string;
  close(): Promise<void>;
}

const BARRIER = /^\/ISAPI\/Parking\/channels\/(\d{1,2})\/barrierGate$/;
const STATUS = /^\/ISAPI\/Parking\/channels\/(\d{1,2})\/barrierGate\/barrierGateStatus$/;
const RECORD = /^\/ISAPI\/Traffic\/channels\/\d{1,2}\/licensePlateAuditData\/record\?format=json$/;
const DELETE = /^\/ISAPI\/Traffic\/channels\/\d{1,2}\/DelLicensePlateAuditData\?format=json$/;
const MAX_BODY = 4 * 1024 * 1024;
const NONCE_TTL_MS = 5 * 60_000;
const MAX_NONCES = 256;
const MODES: readonly string[] = ['open', 'close', 'lock', 'unlock'];

const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, processEntities: false, maxNestedTags: 8 });

const jsonStatus = (code: number, text: string, sub: string): string => JSON.stringify({ statusCode: code, statusString: text, subStatusCode: sub });

function readMode(body: string): CtrlMode | undefined {
  try {
    const mode = (xml.parse(body, true) as { BarrierGate?: { ctrlMode?: unknown } }).BarrierGate?.ctrlMode;
    return typeof mode === 'string' && MODES.includes(mode) ? (mode as CtrlMode) : undefined;
  } catch {
    return undefined;
  }
}

/** Apply a list request to the state; false when the JSON is not what the camera takes. */
function applyList(state: DeviceState, url: string, body: string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof doc !== 'object' || doc === null) return false;
  if (DELETE.test(url)) {
    const { id, deleteAllEnabled } = doc as { id?: unknown; deleteAllEnabled?: unknown };
    if (deleteAllEnabled === true) {
      state.listClears += 1;
      state.allow.clear();
      state.block.clear();
      return true;
    }
    if (!Array.isArray(id)) return false;
    for (const plate of id) {
      if (typeof plate !== 'string') continue;
      state.allow.delete(plate);
      state.block.delete(plate);
    }
    return true;
  }
  const list = (doc as { LicensePlateInfoList?: unknown }).LicensePlateInfoList;
  if (!Array.isArray(list)) return false;
  for (const r of list as Array<{ LicensePlate?: unknown; listType?: unknown }>) {
    if (typeof r.LicensePlate !== 'string' || r.LicensePlate === '') return false;
    const type = String(r.listType).toLowerCase();
    const into = type === 'allowlist' || type === 'whitelist' ? state.allow : type === 'blocklist' || type === 'blacklist' ? state.block : undefined;
    if (!into) return false;
    (into === state.allow ? state.block : state.allow).delete(r.LicensePlate);
    into.add(r.LicensePlate);
  }
  return true;
}

export async function startDeviceServer(
  o: DeviceListenOptions & { lanes: number; state: DeviceState; log: Logger; onExecuted(e: BarrierExecution): void },
): Promise<DeviceServer> {
  const realm = o.realm ?? 'DS-TCG406-E';
  const nonces = new Map<string, { issued: number; nc: number }>();
  const xmlType = 'application/xml; charset="UTF-8"';

  function answer(res: ServerResponse, status: number, body: string, type = xmlType): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function challenge(res: ServerResponse, stale: boolean): void {
    const nonce = randomBytes(16).toString('hex');
    if (nonces.size >= MAX_NONCES) nonces.delete(nonces.keys().next().value as string);
    nonces.set(nonce, { issued: Date.now(), nc: 0 });
    res.setHeader('WWW-Authenticate', `Digest qop="auth", realm="${realm}", nonce="${nonce}", stale="${stale ? 'TRUE' : 'FALSE'}"`);
    answer(res, 401, responseStatusXml('', 4, 'Invalid Operation', 'badAuthorization'));
  }

  /** true: authenticated; 'stale': right credentials on an expired nonce; false: anything else. */
  function verify(req: IncomingMessage): boolean | 'stale' {
    const parsed = parseAuthHeader(req.headers.authorization ?? '');
    const p = typeof parsed === 'string' ? undefined : parsed.find((c) => c.scheme === 'digest')?.params;
    const nc = p?.get('nc') ?? '';
    if (!p || p.get('username') !== o.username || p.get('realm') !== realm || p.get('uri') !== req.url) return false;
    if (p.get('qop') !== 'auth' || !/^[0-9a-f]{8}$/i.test(nc) || !p.get('cnonce') || (p.get('algorithm') ?? 'MD5').toUpperCase() !== 'MD5') return false;
    const nonce = p.get('nonce') ?? '';
    const expected = digestResponse({
      algorithm: 'MD5', realm, nonce, username: o.username, password: o.password,
      method: req.method ?? '', uri: req.url ?? '', qop: 'auth', nc, cnonce: p.get('cnonce'),
    });
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
    const url = req.url ?? '';
    const auth = verify(req);
    if (auth !== true) return challenge(res, auth === 'stale');
    const status = STATUS.exec(url);
    if (status && method === 'GET') {
      const value = o.state.barrier.get(Number(status[1])) ?? 1;
      return answer(res, 200, `<?xml version="1.0" encoding="UTF-8"?><BarrierGateStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><barrierGateStatus>${value}</barrierGateStatus></BarrierGateStatus>`);
    }
    const barrier = BARRIER.exec(url);
    const isList = RECORD.test(url) || DELETE.test(url);
    if (!barrier && !isList) return answer(res, 404, responseStatusXml(url, 4, 'Invalid Operation', 'notSupport'));
    if (method !== 'PUT') return answer(res, 405, responseStatusXml(url, 4, 'Invalid Operation', 'methodNotAllowed'));
    if (o.state.delayMs > 0) await new Promise((r) => setTimeout(r, o.state.delayMs));
    if (o.state.failNext > 0) {
      o.state.failNext -= 1;
      return isList
        ? answer(res, 200, jsonStatus(3, 'Device Error', 'deviceError'), 'application/json')
        : answer(res, 200, responseStatusXml(url, 4, 'Invalid Operation', 'invalidOperation'));
    }
    if (isList) {
      if (!applyList(o.state, url, body)) return answer(res, 400, jsonStatus(6, 'Invalid Content', 'badParameters'), 'application/json');
      o.state.listRequests += 1;
      return answer(res, 200, jsonStatus(1, 'OK', 'ok'), 'application/json');
    }
    const lane = Number(barrier?.[1]);
    if (lane < 1 || lane > o.lanes) return answer(res, 400, responseStatusXml(url, 6, 'Invalid Content', 'badParameters'));
    const ctrlMode = readMode(body);
    if (!ctrlMode) return answer(res, 400, responseStatusXml(url, 6, 'Invalid XML Content', 'badXmlContent'));
    // Like a camera, it acts on a command it has read even if the caller has given up meanwhile.
    const execution = { lane, ctrlMode, at: Date.now() };
    o.state.executions.push(execution);
    if (ctrlMode === 'open' || ctrlMode === 'close') o.state.barrier.set(lane, ctrlMode === 'open' ? 2 : 1);
    answer(res, 200, responseStatusXml(url, 1, 'OK', 'ok'));
    o.log.debug(execution, 'simulated barrier command executed');
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
        o.log.warn({ err }, 'simulated camera failed to answer');
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
