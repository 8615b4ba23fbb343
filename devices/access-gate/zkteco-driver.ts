import { TS_MAX, TS_MIN } from '../../protocol/index.js';
import { createPushIntake } from '../push-intake.js';
import type { DraftEvent, Driver, DriverCommand, DriverContext, DriverFactory, PushRequest, PushResponse } from '../types.js';
import { lookupZkCode, methodFromVerifyType, zktecoProfile } from './zkteco-codes.js';
import { createCommandQueue, parseDevicecmd, type ZkDoorResult } from './zkteco-commands.js';
import { attachZkDevice, detachZkDevice, ICLOCK_PREFIX } from './zkteco-dispatch.js';
import { ZktecoOptions } from './zkteco-options.js';

/**
 * ZKTeco access controllers and terminals in ADMS ("PUSH SDK", iclock) mode [PUSH, see zkteco-codes.ts].
 * The device is the client and polls us:
 *  - `GET /iclock/cdata?SN=..&options=all&pushver=..`: handshake; we answer the option lines
 *    (`GET OPTION FROM: <SN>`, stamps, `Delay`, `TransFlag`, `Realtime=1`, ...).
 *  - `POST /iclock/cdata?SN=..&table=rtlog&Stamp=..`: real-time events, one record a line, tab-separated
 *    `key=value` (time, pin, cardno, eventaddr = door, event = code, inoutstatus, verifytype, index).
 *  - `POST ..&table=rtstate`: door sensor / relay / alarm bitmaps; a sign of life, no event (door
 *    changes also arrive as rtlog 200 / 201). Other tables (attendance, operation logs) are acknowledged.
 *  - `GET /iclock/getrequest?SN=..`: command poll; `POST /iclock/devicecmd?SN=..`: command replies
 *    (zkteco-commands.ts). `GET /iclock/ping?SN=..`: keep-alive of PUSH 3.x firmware.
 * The device retries a post until it reads "OK", so a post is answered only after the gateway queued it.
 */
export const DRIVER_NAME = 'zkteco-adms';
export { ZktecoOptions };

export const ZK_REJECT_REASONS = ['forbidden-source', 'bad-method', 'unknown-path', 'bad-record', 'bad-time', 'bad-field', 'bad-devicecmd', 'emit-failed'] as const;
export type ZkRejectReason = (typeof ZK_REJECT_REASONS)[number];

export interface ZkStats {
  accepted: number;
  /** Well-formed records whose code we do not report, and tables we only acknowledge. */
  ignored: number;
  polls: number;
  rejected: Record<ZkRejectReason, number>;
  lastSeen?: number | undefined;
}

export interface ZktecoDriver extends Driver {
  execute(command: DriverCommand): Promise<ZkDoorResult>;
  stats(): ZkStats;
}

type Record_ = ReadonlyMap<string, string>;
type Parsed = { ok: true; drafts: DraftEvent[]; ignored: number } | { ok: false; reason: ZkRejectReason; detail: string };

const OK: PushResponse = { status: 200, contentType: 'text/plain', body: 'OK' };
const TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
/** A value a device could have sent: printable, no control characters, bounded. */
const PRINTABLE = /^[\x20-\x7e\u00a0-\uffff]{0,128}$/;

/** rtlog `time` is the device's local wall-clock time without an offset; the config supplies it. */
export function parseZkTime(v: string | undefined, utcOffsetMinutes: number): number | undefined {
  const m = v === undefined ? null : TIME.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(local);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  const ts = local - utcOffsetMinutes * 60_000;
  return ts >= TS_MIN && ts <= TS_MAX ? ts : undefined;
}

/** One line of tab-separated key=value pairs; undefined when it is not one. */
function splitRecord(line: string): Record_ | undefined {
  const fields = new Map<string, string>();
  for (const pair of line.split('\t')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    const key = pair.slice(0, eq).trim().toLowerCase();
    const value = pair.slice(eq + 1).trim();
    if (!/^[a-z]{1,32}$/.test(key) || !PRINTABLE.test(value)) return undefined;
    fields.set(key, value);
  }
  return fields;
}

const int = (v: string | undefined): number | undefined => (v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : undefined);
/** pin / cardno: "0" or empty means none. */
const ident = (v: string | undefined): string | undefined => (v === undefined || v === '' || /^0+$/.test(v) ? undefined : v);

export function createZktecoDriver(ctx: DriverContext<ZktecoOptions>): ZktecoDriver {
  const { log, options } = ctx;
  const sn = options.serialNumber;
  const intake = createPushIntake({ ...options, reasons: ZK_REJECT_REASONS, log, label: 'zkteco request', emit: ctx.emit });
  const { refuse } = intake;
  const queue = createCommandQueue({ deviceId: ctx.device.id, timeoutMs: options.commandTimeoutMs, openSeconds: options.openSeconds, log });
  const counters = { accepted: 0, ignored: 0, polls: 0 };

  /** One rtlog record → a draft, `null` for a code we do not report, or why it is bad. */
  function toDraft(r: Record_): DraftEvent | null | { reason: ZkRejectReason; detail: string } {
    const code = int(r.get('event'));
    if (code === undefined) return { reason: 'bad-field', detail: 'event is missing or not a number' };
    const ts = parseZkTime(r.get('time'), options.utcOffsetMinutes);
    if (ts === undefined) return { reason: 'bad-time', detail: 'time missing, not YYYY-MM-DD HH:MM:SS or out of range' };
    const addr = int(r.get('eventaddr') ?? '0');
    if (addr === undefined || addr > 64) return { reason: 'bad-field', detail: 'eventaddr' };
    const index = r.has('index') ? int(r.get('index')) : undefined;
    if (r.has('index') && index === undefined) return { reason: 'bad-field', detail: 'index is not a number' };
    const entry = lookupZkCode(code);
    if (!entry) return null;
    const source = { vendor: DRIVER_NAME, minor: code, ...(index !== undefined && { serial: index }) };
    const base = { ts, ...(index !== undefined && { dedupKey: String(index) }) };
    const door = addr || 1; // 0: not given, door 1 on one-door terminals
    switch (entry.type) {
      case 'access.granted':
      case 'access.denied': {
        // Personal data stops here: only salted hashes leave the driver (DESIGN.md, personal data).
        const card = ident(r.get('cardno'));
        const pin = ident(r.get('pin'));
        const data = {
          door,
          method: methodFromVerifyType(int(r.get('verifytype')), card !== undefined),
          ...(card !== undefined && { credential: ctx.hash(card) }),
          ...(pin !== undefined && { person: ctx.hash(pin) }),
          source,
        };
        return entry.type === 'access.granted'
          ? { ...base, type: 'access.granted', data }
          : { ...base, type: 'access.denied', data: { ...data, reason: entry.reason } };
      }
      case 'device.tamper':
        return { ...base, type: 'device.tamper', data: { zone: 0, source } };
      default:
        return { ...base, type: entry.type, data: { door, source } };
    }
  }

  function parseRtlog(body: Buffer): Parsed {
    const lines = body.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length === 0) return { ok: false, reason: 'bad-record', detail: 'empty rtlog body' };
    const drafts: DraftEvent[] = [];
    let ignored = 0;
    for (const line of lines) {
      const rec = splitRecord(line);
      if (!rec) return { ok: false, reason: 'bad-record', detail: 'a line is not tab-separated key=value pairs' };
      const out = toDraft(rec);
      if (out === null) ignored += 1;
      else if ('reason' in out) return { ok: false, ...out };
      else drafts.push(out);
    }
    return { ok: true, drafts, ignored };
  }

  function handshake(): PushResponse {
    const tz = options.utcOffsetMinutes % 60 === 0 ? [`TimeZone=${options.utcOffsetMinutes / 60}`] : [];
    const lines = [
      `GET OPTION FROM: ${sn}`,
      'ATTLOGStamp=None',
      'OPERLOGStamp=9999',
      'ATTPHOTOStamp=None',
      'ErrorDelay=30',
      `Delay=${options.pollDelayS}`,
      'TransTimes=00:00;14:05',
      'TransInterval=1',
      'TransFlag=TransData AttLog OpLog',
      ...tz,
      'Realtime=1',
      'Encrypt=None',
      'ServerVer=2.4.1 red-butler',
    ];
    return { status: 200, contentType: 'text/plain', body: `${lines.join('\n')}\n` };
  }

  async function handleCdata(req: PushRequest): Promise<PushResponse> {
    if (req.method === 'GET') return handshake();
    const table = (req.query.get('table') ?? '').toLowerCase();
    if (table !== 'rtlog') {
      counters.ignored += 1; // rtstate and attendance-style tables: acknowledged, nothing to report
      return OK;
    }
    const parsed = parseRtlog(req.body);
    if (!parsed.ok) return refuse(400, parsed.reason, parsed.detail, req);
    counters.ignored += parsed.ignored;
    const failed = await intake.emit(parsed.drafts, req);
    if (failed) return failed;
    counters.accepted += parsed.drafts.length;
    return OK;
  }

  async function handle(req: PushRequest): Promise<PushResponse> {
    const forbidden = intake.checkSource(req);
    if (forbidden) return forbidden;
    const what = req.path.slice(ICLOCK_PREFIX.length);
    const method = req.method;
    let out: PushResponse;
    if (what === '/cdata' || what === '/cdata.aspx') {
      if (method !== 'GET' && method !== 'POST') return refuse(405, 'bad-method', `${method} not accepted`, req);
      out = await handleCdata(req);
    } else if (what === '/getrequest' || what === '/getrequest.aspx') {
      if (method !== 'GET') return refuse(405, 'bad-method', `${method} not accepted`, req);
      counters.polls += 1;
      out = { status: 200, contentType: 'text/plain', body: queue.take() };
    } else if (what === '/devicecmd' || what === '/devicecmd.aspx') {
      if (method !== 'POST') return refuse(405, 'bad-method', `${method} not accepted`, req);
      const replies = parseDevicecmd(req.body.toString('utf8'));
      if (typeof replies === 'string') return refuse(400, 'bad-devicecmd', replies, req);
      for (const r of replies) if (!queue.settle(r)) log.debug({ zkId: r.id, ret: r.ret }, 'zkteco reply to a command we are not waiting for');
      out = OK;
    } else if (what === '/ping') {
      out = OK;
    } else {
      return refuse(404, 'unknown-path', req.path.slice(0, 60), req);
    }
    // Only a request we understood counts as a sign of life.
    if (out.status === 200) intake.seen();
    return out;
  }

  return {
    async start() {
      attachZkDevice(ctx.routes, sn, handle, log);
      log.info({ sn, path: ICLOCK_PREFIX, allowFrom: options.allowFrom }, 'zkteco adms driver waiting for polls');
    },
    async stop() {
      detachZkDevice(ctx.routes, sn, handle);
      queue.close();
    },
    health: intake.health,
    execute: (command) => queue.execute(command),
    stats: () => ({ ...counters, rejected: intake.rejected(), lastSeen: intake.lastSeen() }),
  };
}

export const zktecoDriverFactory: DriverFactory<typeof ZktecoOptions> = {
  name: DRIVER_NAME,
  kind: 'access-gate',
  options: ZktecoOptions,
  profile: zktecoProfile,
  create: (ctx) => createZktecoDriver(ctx),
};
