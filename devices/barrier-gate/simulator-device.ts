import type { Logger } from '../../lib/log.js';
import { safeXmlReader } from '../safe-xml.js';
import { responseStatusXml, startDigestServer, type Answer, type DeviceRequest, type DeviceServer, type ListenOptions } from '../sim/digest-server.js';

/**
 * The camera side of ISAPI barrier control and plate lists, for the barrier-gate simulator: answers
 * `PUT /ISAPI/Parking/channels/{n}/barrierGate`, `GET .../barrierGate/barrierGateStatus`,
 * `PUT /ISAPI/Traffic/channels/{ch}/licensePlateAuditData/record?format=json` and
 * `PUT /ISAPI/Traffic/channels/{ch}/DelLicensePlateAuditData?format=json` behind HTTP Digest like a
 * Hikvision camera (sim/digest-server.ts). Wire facts and sources: anpr-commands.ts and anpr-parse.ts.
 */
/** Default realm "DS-TCG406-E". */
export interface DeviceListenOptions extends ListenOptions {
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

export type { DeviceServer };

const BARRIER = /^\/ISAPI\/Parking\/channels\/(\d{1,2})\/barrierGate$/;
const STATUS = /^\/ISAPI\/Parking\/channels\/(\d{1,2})\/barrierGate\/barrierGateStatus$/;
const RECORD = /^\/ISAPI\/Traffic\/channels\/\d{1,2}\/licensePlateAuditData\/record\?format=json$/;
const DELETE = /^\/ISAPI\/Traffic\/channels\/\d{1,2}\/DelLicensePlateAuditData\?format=json$/;
const MAX_BODY = 4 * 1024 * 1024;
const MODES: readonly string[] = ['open', 'close', 'lock', 'unlock'];

const readXml = safeXmlReader({ maxBytes: MAX_BODY, maxDepth: 8 });

const jsonStatus = (code: number, text: string, sub: string): string => JSON.stringify({ statusCode: code, statusString: text, subStatusCode: sub });

function readMode(body: string): CtrlMode | undefined {
  const parsed = readXml(body);
  const mode = parsed.ok ? (parsed.doc as { BarrierGate?: { ctrlMode?: unknown } }).BarrierGate?.ctrlMode : undefined;
  return typeof mode === 'string' && MODES.includes(mode) ? (mode as CtrlMode) : undefined;
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
  async function handle({ method, url, body }: DeviceRequest, answer: Answer): Promise<void> {
    const status = STATUS.exec(url);
    if (status && method === 'GET') {
      const value = o.state.barrier.get(Number(status[1])) ?? 1;
      return answer(200, `<?xml version="1.0" encoding="UTF-8"?><BarrierGateStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><barrierGateStatus>${value}</barrierGateStatus></BarrierGateStatus>`);
    }
    const barrier = BARRIER.exec(url);
    const isList = RECORD.test(url) || DELETE.test(url);
    if (!barrier && !isList) return answer(404, responseStatusXml(url, 4, 'Invalid Operation', 'notSupport'));
    if (method !== 'PUT') return answer(405, responseStatusXml(url, 4, 'Invalid Operation', 'methodNotAllowed'));
    if (o.state.delayMs > 0) await new Promise((r) => setTimeout(r, o.state.delayMs));
    if (o.state.failNext > 0) {
      o.state.failNext -= 1;
      return isList
        ? answer(200, jsonStatus(3, 'Device Error', 'deviceError'), 'application/json')
        : answer(200, responseStatusXml(url, 4, 'Invalid Operation', 'invalidOperation'));
    }
    if (isList) {
      if (!applyList(o.state, url, body)) return answer(400, jsonStatus(6, 'Invalid Content', 'badParameters'), 'application/json');
      o.state.listRequests += 1;
      return answer(200, jsonStatus(1, 'OK', 'ok'), 'application/json');
    }
    const lane = Number(barrier?.[1]);
    if (lane < 1 || lane > o.lanes) return answer(400, responseStatusXml(url, 6, 'Invalid Content', 'badParameters'));
    const ctrlMode = readMode(body);
    if (!ctrlMode) return answer(400, responseStatusXml(url, 6, 'Invalid XML Content', 'badXmlContent'));
    // Like a camera, it acts on a command it has read even if the caller has given up meanwhile.
    const execution = { lane, ctrlMode, at: Date.now() };
    o.state.executions.push(execution);
    if (ctrlMode === 'open' || ctrlMode === 'close') o.state.barrier.set(lane, ctrlMode === 'open' ? 2 : 1);
    answer(200, responseStatusXml(url, 1, 'OK', 'ok'));
    o.log.debug(execution, 'simulated barrier command executed');
    o.onExecuted(execution);
  }

  return startDigestServer({ ...o, realm: o.realm ?? 'DS-TCG406-E', maxBody: MAX_BODY, what: 'camera', handle });
}
