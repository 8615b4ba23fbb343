import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { TS_MAX, TS_MIN } from '../../protocol/index.js';
import type {
  DeviceHealth,
  DraftEvent,
  Driver,
  DriverContext,
  DriverFactory,
  PushRequest,
  PushResponse,
} from '../types.js';
import { lookupCode, methodFromVerifyMode, type CodeEntry } from './isapi-codes.js';

/**
 * Hikvision ISAPI access controllers and face terminals in "HTTP listening" mode
 * (`/ISAPI/Event/notification/httpHosts`): the device POSTs every event to us, as an
 * `EventNotificationAlert` carrying an `AccessControllerEvent`, in JSON or (parameterFormatType XML)
 * XML, either bare or as the `event_log` part of multipart/form-data with an optional picture part.
 * It re-posts until it gets a 200, so the answer comes only after the gateway has queued the event.
 */
export const DRIVER_NAME = 'hikvision-isapi';

export const IsapiOptions = z
  .object({
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]{0,127}$/, { message: 'must be a URL path such as /isapi/gate-1' })
      .optional()
      .describe('Path the device pushes to (its HTTP listening URL). Default: /isapi/<device id>'),
    allowFrom: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .min(1)
      .optional()
      .describe('Source IP addresses accepted; anything else gets 403. Default: any source'),
    offlineAfterMs: z
      .number()
      .int()
      .positive()
      .default(90_000)
      .describe('The device counts as offline when nothing (event or heartbeat) arrived for this long'),
  })
  .strict();

export type IsapiOptions = z.infer<typeof IsapiOptions>;

export const REJECT_REASONS = [
  'forbidden-source',
  'bad-method',
  'unrecognised-body',
  'bad-multipart',
  'invalid-json',
  'invalid-xml',
  'not-an-object',
  'missing-event',
  'missing-code',
  'bad-date',
  'bad-field',
  'emit-failed',
] as const;
export type IsapiRejectReason = (typeof REJECT_REASONS)[number];

export interface IsapiStats {
  /** Events handed to the gateway. */
  accepted: number;
  heartbeats: number;
  /** Well-formed events whose code we do not report (see isapi-codes.ts). */
  ignored: number;
  rejected: Record<IsapiRejectReason, number>;
  lastSeen?: number | undefined;
}

export interface IsapiDriver extends Driver {
  stats(): IsapiStats;
}

type Json = Record<string, unknown>;
type Outcome =
  | { kind: 'heartbeat' }
  | { kind: 'ignored'; major: number; minor: number }
  | { kind: 'event'; draft: DraftEvent; entry: CodeEntry }
  | { kind: 'bad'; reason: IsapiRejectReason; detail: string };

/** The part names firmware uses for the event JSON in multipart pushes. */
const EVENT_PARTS = new Set(['event_log', 'accesscontrollerevent']);
/** ISAPI ResponseStatus, what ISAPI itself answers on success. */
const OK_BODY = JSON.stringify({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' });
// Entities off: a device never needs them, and they are the classic XML amplification vector.
const xml = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  processEntities: false,
});

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (reason: IsapiRejectReason, detail: string): Outcome => ({ kind: 'bad', reason, detail });

/** ISAPI sends numbers as JSON numbers; XML (and some firmware) as decimal strings. */
function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.5`) is how Node reports IPv4 peers on a dual-stack socket. */
const normaliseIp = (ip: string | undefined): string => (ip ?? '').toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');

const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):?(\d{2}))$/;

/**
 * ISAPI `dateTime` is ISO 8601 with the device's UTC offset ("2026-11-27T19:00:00+08:00"). A time
 * without an offset is refused: guessing the device's zone would shift every event by hours.
 */
export function parseIsapiTime(v: unknown): number | undefined {
  const m = typeof v === 'string' ? TIME.exec(v) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const local = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(local);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMin = 0;
  if (m[8] !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 14 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ts = local - offsetMin * 60_000;
  return ts >= TS_MIN && ts <= TS_MAX ? ts : undefined;
}

export interface MultipartPart {
  name?: string | undefined;
  contentType?: string | undefined;
  body: Buffer;
}

function headerEnd(raw: Buffer): [number, number] {
  if (raw[0] === 0x0d && raw[1] === 0x0a) return [0, 2];
  if (raw[0] === 0x0a) return [0, 1];
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return [crlf, crlf + 4];
  return lf >= 0 ? [lf, lf + 2] : [-1, -1];
}

/**
 * A small, bounded multipart parser (RFC 2046 §5.1.1; form-data per RFC 7578): the body is already
 * size-capped by the push server, parts and header blocks are capped here. Tolerates bare LF line
 * ends. Returns the parts, or a short reason why the body is not multipart.
 */
export function parseMultipart(body: Buffer, boundary: string, maxParts = 8): MultipartPart[] | string {
  const delim = Buffer.from(`--${boundary}`);
  // A delimiter counts only at the start of the body or of a line (the boundary may occur inside data).
  const find = (from: number): number => {
    for (let i = body.indexOf(delim, from); i >= 0; i = body.indexOf(delim, i + 1)) {
      if (i === 0 || body[i - 1] === 0x0a) return i;
    }
    return -1;
  };
  const parts: MultipartPart[] = [];
  let at = find(0);
  if (at < 0) return 'boundary not found in body';
  for (;;) {
    let pos = at + delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // close delimiter "--boundary--"
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++; // transport padding
    if (body[pos] === 0x0d) pos++;
    if (body[pos] !== 0x0a) return 'malformed boundary line';
    const next = find(++pos);
    if (next < 0) return 'unterminated part';
    if (parts.length === maxParts) return `more than ${maxParts} parts`;
    let end = next; // the line break before a delimiter belongs to the delimiter
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const raw = body.subarray(pos, Math.max(pos, end));
    // Headers end at the first empty line; a part may have none (it then starts with the empty line).
    const [hEnd, bStart] = headerEnd(raw);
    if (hEnd < 0 || hEnd > 8192) return 'part headers missing or too long';
    const headers = raw.subarray(0, hEnd).toString('latin1');
    parts.push({
      name: /content-disposition:[^\n]*?\bname="?([^";\r\n]*)"?/i.exec(headers)?.[1],
      contentType: /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim(),
      body: raw.subarray(bStart),
    });
    at = next;
  }
}

type Decoded = { ok: true; doc: unknown } | { ok: false; reason: IsapiRejectReason; detail: string };

/** Body bytes → a parsed document, by Content-Type, sniffing when the device labels it badly. */
function decodeBody(req: PushRequest): Decoded {
  const contentType = String(req.headers['content-type'] ?? '');
  let body = req.body;
  if (/^multipart\//i.test(contentType)) {
    const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
    if (!boundary) return { ok: false, reason: 'bad-multipart', detail: 'no boundary in Content-Type' };
    const parts = parseMultipart(body, boundary[1] ?? boundary[2] ?? '');
    if (typeof parts === 'string') return { ok: false, reason: 'bad-multipart', detail: parts };
    const part =
      parts.find((p) => EVENT_PARTS.has((p.name ?? '').toLowerCase())) ??
      parts.find((p) => /json|xml/i.test(p.contentType ?? ''));
    if (!part) return { ok: false, reason: 'bad-multipart', detail: 'no event_log part' };
    body = part.body;
  }
  const str = body.toString('utf8').replace(/^\uFEFF/, '').trim();
  if (str.startsWith('{') || str.startsWith('[')) {
    try {
      return { ok: true, doc: JSON.parse(str) as unknown };
    } catch {
      // The parser's message quotes the input, which may hold a card number: never log it.
      return { ok: false, reason: 'invalid-json', detail: `${body.length} bytes are not valid JSON` };
    }
  }
  if (str.startsWith('<')) {
    try {
      const root = xml.parse(str) as Json;
      if (isObject(root.EventNotificationAlert)) return { ok: true, doc: root.EventNotificationAlert };
    } catch {
      /* reported below */
    }
    return { ok: false, reason: 'invalid-xml', detail: 'not an EventNotificationAlert document' };
  }
  const detail = `neither JSON nor XML (${contentType || 'no content-type'})`;
  return { ok: false, reason: 'unrecognised-body', detail };
}

export function createIsapiDriver(ctx: DriverContext<IsapiOptions>): IsapiDriver {
  const { log, options } = ctx;
  const path = options.path ?? `/isapi/${ctx.device.id}`;
  const allow = options.allowFrom ? new Set(options.allowFrom.map(normaliseIp)) : undefined;
  const counters = { accepted: 0, heartbeats: 0, ignored: 0 };
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<IsapiRejectReason, number>;
  let lastSeen: number | undefined;

  /** One ISAPI document → what it means for us. Pure apart from `ctx.hash`. */
  function interpret(doc: unknown): Outcome {
    if (!isObject(doc)) return bad('not-an-object', 'the event is not a JSON object');
    const eventType = text(doc.eventType)?.toLowerCase();
    // Keep-alives: "heartBeat" from access controllers, "videoloss" + "inactive" from ISAPI cameras/NVRs.
    if (eventType === 'heartbeat' || (eventType === 'videoloss' && text(doc.eventState) === 'inactive')) {
      return { kind: 'heartbeat' };
    }
    const ace = doc.AccessControllerEvent;
    if (!isObject(ace)) {
      return bad('missing-event', `no AccessControllerEvent (eventType ${eventType?.slice(0, 40) ?? 'missing'})`);
    }
    const major = toInt(ace.majorEventType);
    const minor = toInt(ace.subEventType);
    if (major === undefined || minor === undefined) return bad('missing-code', 'majorEventType/subEventType missing');
    const ts = parseIsapiTime(doc.dateTime);
    if (ts === undefined) return bad('bad-date', 'dateTime missing, without offset or out of range');
    // Optional numbers: absent (or null) is fine, present but not a non-negative integer is not.
    const given = (v: unknown): boolean => v !== undefined && v !== null;
    const serial = given(ace.serialNo) ? toInt(ace.serialNo) : undefined;
    if (given(ace.serialNo) && serial === undefined) return bad('bad-field', 'serialNo is not an integer');
    // Doors and readers count from 1; 0 or absent means "not given" (door 1 on one-door terminals).
    const doorNo = given(ace.doorNo) ? toInt(ace.doorNo) : 0;
    const readerNo = given(ace.cardReaderNo) ? toInt(ace.cardReaderNo) : 0;
    if (doorNo === undefined || doorNo > 64) return bad('bad-field', 'doorNo');
    if (readerNo === undefined || readerNo > 64) return bad('bad-field', 'cardReaderNo');
    const door = doorNo || 1;
    const reader = readerNo || undefined;
    const entry = lookupCode(major, minor);
    if (!entry) return { kind: 'ignored', major, minor };

    const source = { vendor: DRIVER_NAME, major, minor, ...(serial !== undefined && { serial }) };
    const base = { ts, ...(serial !== undefined && { dedupKey: String(serial) }) };
    switch (entry.type) {
      case 'access.granted':
      case 'access.denied': {
        // Personal data stops here: only salted hashes leave the driver (DESIGN.md, personal data).
        const card = text(ace.cardNo);
        const employee = text(ace.employeeNoString) ?? text(ace.employeeNo);
        const data = {
          door,
          ...(reader !== undefined && { reader }),
          method: entry.method === 'unknown' ? methodFromVerifyMode(ace.currentVerifyMode) : entry.method,
          ...(card !== undefined && { credential: ctx.hash(card) }),
          ...(employee !== undefined && { person: ctx.hash(employee) }),
          source,
        };
        const draft: DraftEvent =
          entry.type === 'access.granted'
            ? { ...base, type: 'access.granted', data }
            : { ...base, type: 'access.denied', data: { ...data, reason: entry.reason } };
        return { kind: 'event', draft, entry };
      }
      case 'device.tamper': {
        // zone 0 is the controller's own case, n is card reader n; the security module has no number.
        const zone = entry.part === 'controller' ? 0 : entry.part === 'reader' ? reader : undefined;
        const data = { ...(zone !== undefined && { zone }), source };
        return { kind: 'event', draft: { ...base, type: 'device.tamper', data }, entry };
      }
      default:
        return { kind: 'event', draft: { ...base, type: entry.type, data: { door, source } }, entry };
    }
  }

  function refuse(status: number, reason: IsapiRejectReason, detail: string, req: PushRequest): PushResponse {
    rejected[reason] += 1;
    const fields = { reason, detail, status, remote: req.remoteAddress, bytes: req.body.length };
    log.warn(fields, `isapi push rejected: ${reason}`);
    return { status, contentType: 'text/plain; charset=utf-8', body: `${reason}: ${detail}\n` };
  }

  async function handle(req: PushRequest): Promise<PushResponse> {
    if (allow && !allow.has(normaliseIp(req.remoteAddress))) {
      return refuse(403, 'forbidden-source', 'source address not in allowFrom', req);
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      return refuse(405, 'bad-method', `${req.method} not accepted`, req);
    }
    const decoded = decodeBody(req);
    if (!decoded.ok) return refuse(400, decoded.reason, decoded.detail, req);
    const outcome = interpret(decoded.doc);
    if (outcome.kind === 'bad') return refuse(400, outcome.reason, outcome.detail, req);

    lastSeen = Date.now();
    const ok: PushResponse = { status: 200, contentType: 'application/json', body: OK_BODY };
    if (outcome.kind === 'heartbeat') {
      counters.heartbeats += 1;
      return ok;
    }
    if (outcome.kind === 'ignored') {
      counters.ignored += 1;
      log.debug({ major: outcome.major, minor: outcome.minor }, 'isapi event code not mapped, ignored');
      return ok;
    }
    try {
      await ctx.emit(outcome.draft);
    } catch (err) {
      // Not a 200: the device keeps the event and posts it again.
      log.warn({ err, type: outcome.draft.type }, 'gateway did not accept the event');
      return refuse(503, 'emit-failed', 'gateway could not queue the event', req);
    }
    counters.accepted += 1;
    const { source } = outcome.draft.data;
    log.debug({ type: outcome.draft.type, sdk: outcome.entry.sdk, serial: source?.serial }, 'isapi event accepted');
    return ok;
  }

  return {
    async start() {
      ctx.routes.register(path, handle);
      log.info({ path, allowFrom: options.allowFrom }, 'isapi driver listening for pushes');
    },
    async stop() {
      ctx.routes.unregister(path);
    },
    health(): DeviceHealth {
      const online = lastSeen !== undefined && Date.now() - lastSeen <= options.offlineAfterMs;
      return { online, lastSeen };
    },
    stats: () => ({ ...counters, rejected: { ...rejected }, lastSeen }),
  };
}

export const isapiDriverFactory: DriverFactory<typeof IsapiOptions> = {
  name: DRIVER_NAME,
  kind: 'access-gate',
  options: IsapiOptions,
  create: (ctx) => createIsapiDriver(ctx),
};
