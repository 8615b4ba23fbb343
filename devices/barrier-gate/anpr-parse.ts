import type { z } from 'zod';
import { Plate, type PlateColor, type PlateList } from '../../protocol/index.js';
import { parseIsapiTime } from '../access-gate/isapi-driver.js';
import { multipartBoundary, parseMultipart } from '../multipart.js';
import { isXmlDoc as isObject, safeXmlReader } from '../safe-xml.js';
import type { PushRequest } from '../types.js';

/**
 * What a Hikvision ANPR (entrance/exit) camera posts in "HTTP listening" mode, decoded and read.
 * Device input is never trusted: size-capped, no DTD, no entities, shallow, every field checked.
 *
 * Wire facts (facts only, no code taken from any source):
 *  [TRAFFIC] Hikvision, "Device Network SDK (Traffic) Developer Guide" V6.1.4.X (2022-03-11), message
 *            XML_EventNotificationAlert_ANPR: root `EventNotificationAlert` (version 2.0, namespace
 *            http://www.isapi.org/ver20/XMLSchema), `dateTime` ISO 8601 with offset, `activePostCount`,
 *            `eventType` "ANPR", `eventState`, `channelID`, then an `ANPR` block.
 *  [META]    Hikvision ANPR metadata reference (enpinfo.hikvision.com, GUID-9A02D489-...): `direction`
 *            is forward, reverse or unknown; `plateColor` is a colour name; confidence is 0-100.
 *  [CAPTURE] Payloads captured from real cameras and published by integrators (a DS-TCG406-E capture;
 *            receivers in Java/Python/PHP): multipart/form-data with the XML in a part named
 *            `anpr.xml` and JPEGs in parts named `licensePlatePicture.jpg`, `detectionPicture.jpg`
 *            (`vehiclePicture.jpg` on some models); the `ANPR` block carries `licensePlate`, `line`
 *            (the lane), `direction`, `confidenceLevel`, `plateColor`, `pictureInfoList`, and the
 *            list match as `vehicleListName` (allowList, blockList, otherList; whiteList/blackList on
 *            older firmware) or `listType` (e.g. "temporary"); the alert carries a `UUID`.
 *  [STATUS]  `GET /ISAPI/Parking/channels/{n}/barrierGate/barrierGateStatus` answers
 *            `BarrierGateStatus/barrierGateStatus`: 0 no signal, 1 closed in position, 2 open in
 *            position (ISAPI reference text quoted in Hikvision HCNetSDK Java demos).
 *            ASSUMPTION, not found in a vendor document: a camera that pushes barrier changes does so
 *            as an `EventNotificationAlert` with eventType `barrierGateStatus` carrying that same block.
 */
export const PARSE_REJECTS = [
  'bad-multipart',
  'no-xml',
  'too-large',
  'doctype',
  'invalid-xml',
  'not-an-alert',
  'bad-date',
  'bad-field',
] as const;
export type ParseReject = (typeof PARSE_REJECTS)[number];

/** Largest XML document read; a real alert is 2-4 KiB. */
export const MAX_XML_BYTES = 64 * 1024;
/** Deepest element nesting accepted; a real alert nests 4 deep (pictureInfoList/pictureInfo/...). */
export const MAX_XML_DEPTH = 12;
/** Largest picture kept for the snapshot pipeline. */
export const MAX_PICTURE_BYTES = 1024 * 1024;

export type AnprDirection = 'forward' | 'reverse' | 'unknown';

export type Reading =
  | { kind: 'heartbeat' }
  | { kind: 'ignored'; eventType: string }
  | {
      kind: 'read';
      ts: number;
      uuid?: string | undefined;
      lane?: number | undefined;
      direction: AnprDirection;
      plate?: string | undefined;
      plateColor?: z.infer<typeof PlateColor> | undefined;
      confidence?: number | undefined;
      list: z.infer<typeof PlateList>;
    }
  | { kind: 'barrier'; ts: number; uuid?: string | undefined; lane?: number | undefined; status: 0 | 1 | 2 };

export type Decoded =
  | { ok: true; doc: Record<string, unknown>; picture?: Buffer | undefined }
  | { ok: false; reason: ParseReject; detail: string };

type Json = Record<string, unknown>;
const fail = (reason: ParseReject, detail: string): { ok: false; reason: ParseReject; detail: string } => ({ ok: false, reason, detail });

const readXml = safeXmlReader({ maxBytes: MAX_XML_BYTES, maxDepth: MAX_XML_DEPTH });

/** Parse one XML document as untrusted input (devices/safe-xml.ts); size and DTD have reasons of their own. */
export function parseUntrustedXml(bytes: Buffer): { ok: true; doc: Json } | { ok: false; reason: ParseReject; detail: string } {
  const r = readXml(bytes);
  if (r.ok) return r;
  return fail(r.fault === 'too-large' || r.fault === 'doctype' ? r.fault : 'invalid-xml', r.detail);
}

const isJpeg = (b: Buffer): boolean => b.length > 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** Body → the alert document and the plate picture, from multipart [CAPTURE] or a bare XML body. */
export function decodeAnprBody(req: PushRequest): Decoded {
  const contentType = String(req.headers['content-type'] ?? '');
  let xmlBytes = req.body;
  let picture: Buffer | undefined;
  if (/^multipart\//i.test(contentType)) {
    const boundary = multipartBoundary(contentType);
    if (boundary === undefined) return fail('bad-multipart', 'no boundary in Content-Type');
    const parts = parseMultipart(req.body, boundary);
    if (typeof parts === 'string') return fail('bad-multipart', parts);
    const named = (p: { name?: string | undefined }): string => (p.name ?? '').toLowerCase();
    const part =
      parts.find((p) => named(p) === 'anpr.xml') ??
      parts.find((p) => named(p).endsWith('.xml')) ??
      parts.find((p) => /xml/i.test(p.contentType ?? ''));
    if (!part) return fail('no-xml', 'no anpr.xml part');
    xmlBytes = part.body;
    const pic = parts.find((p) => named(p).startsWith('licenseplatepicture')) ?? parts.find((p) => /^image\/jpe?g/i.test(p.contentType ?? ''));
    if (pic && isJpeg(pic.body) && pic.body.length <= MAX_PICTURE_BYTES) picture = pic.body;
  }
  const parsed = parseUntrustedXml(xmlBytes);
  if (!parsed.ok) return parsed;
  const root = parsed.doc.EventNotificationAlert;
  if (!isObject(root)) return fail('not-an-alert', 'not an EventNotificationAlert document');
  return { ok: true, doc: root, picture };
}

// Field readers. Repeated elements arrive as arrays: a scalar field given twice is malformed.

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function intIn(v: unknown, min: number, max: number): number | undefined | null {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !/^\d{1,6}$/.test(v.trim())) return null;
  const n = Number(v.trim());
  return n >= min && n <= max ? n : null;
}

/** Words firmware puts in licensePlate when it saw a vehicle but read no plate. */
const UNREADABLE = new Set(['UNKNOWN', 'NONE', 'NOPLATE', '无车牌', '无牌', '未识别', '车牌']);
const COLOUR_PREFIX = /^[蓝黄绿白黑](?=\p{Script=Han})/u;

/**
 * Plate text → our canonical plate, or `undefined` when unreadable. Upper case, separators dropped
 * (spaces, '-', '.', '·'), and a leading colour word some Chinese firmware prefixes ("蓝京A12345")
 * removed — only before a second Han character, since 黑 is also Heilongjiang's province character.
 */
export function normalisePlate(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.normalize('NFKC').toUpperCase().replace(/[\s\-_.·•]/g, '').replace(COLOUR_PREFIX, '');
  if (UNREADABLE.has(s)) return undefined;
  return Plate.safeParse(s).success ? s : undefined;
}

const COLOURS = new Set(['blue', 'yellow', 'green', 'white', 'black']);

export function plateColour(raw: unknown): z.infer<typeof PlateColor> | undefined {
  const c = text(raw)?.toLowerCase();
  if (c === undefined || c === 'unknown') return undefined;
  if (COLOURS.has(c)) return c as z.infer<typeof PlateColor>;
  return c.includes('green') ? 'green' : 'other'; // new-energy plates are green variants
}

/** vehicleListName / listType [CAPTURE] → our list. Not on a list (otherList, temporary, absent) is 'other'. */
export function plateList(raw: unknown): z.infer<typeof PlateList> {
  const l = text(raw)?.toLowerCase();
  if (l === 'allowlist' || l === 'whitelist') return 'allow';
  if (l === 'blocklist' || l === 'blacklist') return 'block';
  return 'other';
}

const UUID = /^[A-Za-z0-9-]{1,64}$/;

/** One alert document → what it says. Pure. */
export function readAlert(doc: Json): Reading | { kind: 'bad'; reason: ParseReject; detail: string } {
  const bad = (reason: ParseReject, detail: string) => ({ kind: 'bad' as const, reason, detail });
  const eventType = text(doc.eventType) ?? '';
  const lower = eventType.toLowerCase();
  // ISAPI cameras keep the listener warm with "videoloss" + "inactive" (the access-gate driver does the same).
  if (lower === 'heartbeat' || (lower === 'videoloss' && text(doc.eventState) === 'inactive')) return { kind: 'heartbeat' };
  if (lower !== 'anpr' && lower !== 'barriergatestatus') return { kind: 'ignored', eventType: eventType.slice(0, 40) };
  const ts = parseIsapiTime(doc.dateTime);
  if (ts === undefined) return bad('bad-date', 'dateTime missing, without offset or out of range');
  const rawUuid = doc.UUID ?? doc.uuid;
  const uuid = text(rawUuid);
  if (rawUuid !== undefined && (uuid === undefined || !UUID.test(uuid))) return bad('bad-field', 'UUID');
  const channel = intIn(doc.channelID, 1, 16);
  if (channel === null) return bad('bad-field', 'channelID');

  if (lower === 'barriergatestatus') {
    const block = doc.BarrierGateStatus;
    if (!isObject(block)) return bad('bad-field', 'no BarrierGateStatus block');
    const status = intIn(block.barrierGateStatus, 0, 2);
    if (status === undefined || status === null) return bad('bad-field', 'barrierGateStatus must be 0, 1 or 2');
    const lane = intIn(block.laneNo, 1, 16);
    if (lane === null) return bad('bad-field', 'laneNo');
    return { kind: 'barrier', ts, uuid, lane: lane ?? channel, status: status as 0 | 1 | 2 };
  }

  const anpr = doc.ANPR;
  if (!isObject(anpr)) return bad('bad-field', 'no ANPR block');
  const lane = intIn(anpr.line, 1, 16);
  if (lane === null) return bad('bad-field', 'line');
  const confidence = intIn(anpr.confidenceLevel, 0, 100);
  if (confidence === null) return bad('bad-field', 'confidenceLevel must be 0-100');
  if (anpr.licensePlate !== undefined && typeof anpr.licensePlate !== 'string') return bad('bad-field', 'licensePlate');
  const dir = text(anpr.direction)?.toLowerCase();
  const direction: AnprDirection = dir === 'forward' || dir === 'reverse' ? dir : 'unknown';
  const plate = normalisePlate(anpr.licensePlate);
  return {
    kind: 'read',
    ts,
    uuid,
    lane: lane ?? channel,
    direction,
    plate,
    // Colour and confidence describe a plate; without one they mean nothing.
    plateColor: plate === undefined ? undefined : plateColour(anpr.plateColor),
    confidence: plate === undefined ? undefined : confidence,
    list: plateList(anpr.vehicleListName ?? anpr.listType),
  };
}
