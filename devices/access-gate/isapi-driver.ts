import { TS_MAX, TS_MIN } from '../../protocol/index.js';
import type { DraftEvent, Driver, DriverCommand, DriverContext, DriverFactory, PushRequest, PushResponse } from '../types.js';
import { multipartBoundary, parseMultipart } from '../multipart.js';
import { createIsapiHealth } from '../isapi-health.js';
import { createPushIntake } from '../push-intake.js';
import { safeXmlReader } from '../safe-xml.js';
import { createDoorControl, type DoorResult } from './isapi-commands.js';
import { IsapiOptions } from './isapi-options.js';
import { lookupCode, methodFromVerifyMode, type CodeEntry } from './isapi-codes.js';
import { accessGateProfile } from './profile.js';

/**
 * Hikvision ISAPI access controllers and face terminals in "HTTP listening" mode
 * (`/ISAPI/Event/notification/httpHosts`): the device POSTs every event to us, as an
 * `EventNotificationAlert` carrying an `AccessControllerEvent`, in JSON or (parameterFormatType XML)
 * XML, either bare or as the `event_log` part of multipart/form-data with an optional picture part.
 * It re-posts until it gets a 200, so the answer comes only after the gateway has queued the event.
 * Commands go the other way: `execute` PUTs to the device's ISAPI door control (isapi-commands.ts).
 */
export const DRIVER_NAME = 'hikvision-isapi';

export { IsapiOptions };

export const REJECT_REASONS = [
  'forbidden-source',
  'bad-method',
  'unrecognised-body',
  'too-large',
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
  /** Door commands (door.open, door.close, door.alwaysOpen, door.alwaysClosed) over ISAPI. */
  execute(command: DriverCommand): Promise<DoorResult>;
  stats(): IsapiStats;
}

type Json = Record<string, unknown>;
type Outcome =
  | { kind: 'heartbeat' }
  | { kind: 'ignored'; major: number; minor: number }
  | { kind: 'event'; draft: DraftEvent; entry: CodeEntry }
  | { kind: 'bad'; reason: IsapiRejectReason; detail: string };

/**
 * Largest event document (JSON or XML) read; a real AccessControllerEvent is 1-2 KiB and pictures
 * come as their own multipart part. Parsing what the 2 MiB body cap lets through would cost the event
 * loop far too much (a 2 MB XML text node: ~0.5 s and ~90 MiB).
 */
export const MAX_EVENT_BYTES = 64 * 1024;
/** The part names firmware uses for the event JSON in multipart pushes. */
const EVENT_PARTS = new Set(['event_log', 'accesscontrollerevent']);
/** ISAPI ResponseStatus, what ISAPI itself answers on success. */
const OK_BODY = JSON.stringify({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' });
/** Deepest XML accepted; an EventNotificationAlert with its AccessControllerEvent nests 3 deep. */
const MAX_XML_DEPTH = 16;
const readXml = safeXmlReader({ maxBytes: MAX_EVENT_BYTES, maxDepth: MAX_XML_DEPTH });

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

type Decoded = { ok: true; doc: unknown } | { ok: false; reason: IsapiRejectReason; detail: string };

/** Body bytes → a parsed document, by Content-Type, sniffing when the device labels it badly. */
function decodeBody(req: PushRequest): Decoded {
  const contentType = String(req.headers['content-type'] ?? '');
  let body = req.body;
  if (/^multipart\//i.test(contentType)) {
    const boundary = multipartBoundary(contentType);
    if (boundary === undefined) return { ok: false, reason: 'bad-multipart', detail: 'no boundary in Content-Type' };
    const parts = parseMultipart(body, boundary);
    if (typeof parts === 'string') return { ok: false, reason: 'bad-multipart', detail: parts };
    const part =
      parts.find((p) => EVENT_PARTS.has((p.name ?? '').toLowerCase())) ??
      parts.find((p) => /json|xml/i.test(p.contentType ?? ''));
    if (!part) return { ok: false, reason: 'bad-multipart', detail: 'no event_log part' };
    body = part.body;
  }
  if (body.length > MAX_EVENT_BYTES) {
    return { ok: false, reason: 'too-large', detail: `event document of ${body.length} bytes, more than ${MAX_EVENT_BYTES}` };
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
    // devices/safe-xml.ts: a DTD (an XXE / entity-expansion attempt) is refused whole, depth capped.
    const parsed = readXml(str);
    if (!parsed.ok && parsed.fault === 'doctype') return { ok: false, reason: 'invalid-xml', detail: parsed.detail };
    if (parsed.ok && isObject(parsed.doc.EventNotificationAlert)) return { ok: true, doc: parsed.doc.EventNotificationAlert };
    return { ok: false, reason: 'invalid-xml', detail: 'not an EventNotificationAlert document' };
  }
  const detail = `neither JSON nor XML (${contentType || 'no content-type'})`;
  return { ok: false, reason: 'unrecognised-body', detail };
}

export function createIsapiDriver(ctx: DriverContext<IsapiOptions>): IsapiDriver {
  const { log, options } = ctx;
  const execute = createDoorControl({ ...options, deviceId: ctx.device.id, log });
  const path = options.path ?? `/isapi/${ctx.device.id}`;
  const intake = createPushIntake({ ...options, reasons: REJECT_REASONS, log, label: 'isapi push', emit: ctx.emit });
  const probe = createIsapiHealth({
    ...options, deviceId: ctx.device.id, pollMs: options.healthPollMs, requestTimeoutMs: options.commandTimeoutMs, log, meter: ctx.meter, emit: ctx.emit, pushHealth: intake.health,
  });
  const { refuse } = intake;
  const counters = { accepted: 0, heartbeats: 0, ignored: 0 };

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

  async function handle(req: PushRequest): Promise<PushResponse> {
    const forbidden = intake.checkSource(req);
    if (forbidden) return forbidden;
    if (req.method !== 'POST' && req.method !== 'PUT') {
      return refuse(405, 'bad-method', `${req.method} not accepted`, req);
    }
    const decoded = decodeBody(req);
    if (!decoded.ok) return refuse(400, decoded.reason, decoded.detail, req);
    const outcome = interpret(decoded.doc);
    if (outcome.kind === 'bad') return refuse(400, outcome.reason, outcome.detail, req);

    intake.seen();
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
    const failed = await intake.emit([outcome.draft], req);
    if (failed) return failed;
    counters.accepted += 1;
    const { data } = outcome.draft;
    const serial = 'source' in data ? data.source?.serial : undefined;
    log.debug({ type: outcome.draft.type, sdk: outcome.entry.sdk, serial }, 'isapi event accepted');
    return ok;
  }

  return {
    async start() {
      ctx.routes.register(path, handle);
      const commands = { address: options.address ?? null, auth: options.username ? 'digest' : 'none' };
      log.info({ path, allowFrom: options.allowFrom, commands }, 'isapi driver listening for pushes');
      probe.start();
    },
    async stop() {
      probe.stop();
      ctx.routes.unregister(path);
    },
    health: probe.health,
    execute,
    stats: () => ({ ...counters, rejected: intake.rejected(), lastSeen: intake.lastSeen() }),
  };
}

export const isapiDriverFactory: DriverFactory<typeof IsapiOptions> = {
  name: DRIVER_NAME,
  kind: 'access-gate',
  options: IsapiOptions,
  profile: accessGateProfile,
  create: (ctx) => createIsapiDriver(ctx),
};
