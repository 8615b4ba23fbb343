import { createHash, randomBytes } from 'node:crypto';
import { isXmlDoc, safeXmlReader, type XmlDoc, type XmlFault } from '../safe-xml.js';

/**
 * SOAP 1.2 and WS-Security pieces shared by the ONVIF driver and the simulator.
 *
 * - ONVIF Core Specification, "Web services framework" (§5): SOAP 1.2 over HTTP POST, media type
 *   `application/soap+xml`, faults as `env:Fault` with `env:Code/env:Subcode` values from the `ter:`
 *   namespace (`ter:NotAuthorized` when a WS-Security token is refused).
 * - ONVIF Core Specification, "Security" (§5.12, user token profile) → OASIS WS-Security
 *   UsernameToken Profile 1.0 §3.1: PasswordDigest = Base64(SHA-1(nonce + created + password)), with
 *   the raw nonce bytes, `Created` as UTC xsd:dateTime; §4: receivers limit the age of Created and
 *   cache nonces to refuse replays.
 *
 * Device XML is never trusted: read through devices/safe-xml.ts (DOCTYPE refused, entities off,
 * nesting limited), size capped by the caller (deviceRequest's byte cap, the simulator's body cap).
 */
export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  tns1: 'http://www.onvif.org/ver10/topics',
  wsdd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  wsa04: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  tdn: 'http://www.onvif.org/ver10/network/wsdl',
} as const;

export const PASSWORD_DIGEST_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const BASE64_BINARY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

export type Xml = XmlDoc;

/** Deepest element nesting accepted; the deepest ONVIF answer we read (a notification) needs ~10. */
export const MAX_XML_DEPTH = 24;

/** Largest SOAP document parsed: the highest `maxResponseBytes` the options allow (callers cap lower). */
export const MAX_XML_BYTES = 4 * 1024 * 1024;

// Arrays where the schema allows several: so one and many parse alike.
const LISTS = new Set(['NotificationMessage', 'SimpleItem', 'Profiles', 'Service', 'Preset', 'VideoSources', 'ProbeMatch']);

const readXml = safeXmlReader({ maxBytes: MAX_XML_BYTES, maxDepth: MAX_XML_DEPTH, attributes: true, isArray: (name) => LISTS.has(name) });

const FAULT_TEXT: Record<XmlFault, (detail: string) => string> = {
  'too-large': (d) => d,
  doctype: () => 'DOCTYPE/ENTITY declarations are refused',
  'not-xml': () => 'not an XML document',
  'too-deep': (d) => `malformed XML (${d})`,
  malformed: () => 'malformed XML',
};

export class SoapParseError extends Error {
  override name = 'SoapParseError';
}

/** Parse untrusted XML (devices/safe-xml.ts). Throws SoapParseError on DOCTYPE/ENTITY, malformed XML or too deep nesting. */
export function parseXml(text: string): Xml {
  const r = readXml(text);
  if (!r.ok) throw new SoapParseError(FAULT_TEXT[r.fault](r.detail));
  return r.doc;
}

export const isXml = isXmlDoc;

/** Follow element names (namespace prefixes already stripped); undefined when any step is missing. */
export function path(node: unknown, ...names: string[]): unknown {
  let cur = node;
  for (const n of names) {
    if (Array.isArray(cur)) cur = cur[0];
    if (!isXml(cur)) return undefined;
    cur = cur[n];
  }
  return cur;
}

/** Text content of an element (with or without attributes), trimmed; undefined when absent/empty. */
export function text(node: unknown): string | undefined {
  const v = isXml(node) ? node['#text'] : Array.isArray(node) ? text(node[0]) : node;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export const attr = (node: unknown, name: string): string | undefined => (isXml(node) ? text(node[`@${name}`]) : undefined);

export const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Escape text for element content and attribute values. */
export const esc = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);

/** Base64(SHA-1(nonce + created + password)) — UsernameToken Profile 1.0 §3.1. */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created + password, 'utf8')])).digest('base64');
}

/** A `wsse:Security` header with a PasswordDigest UsernameToken, `Created` taken from `nowMs`. */
export function securityHeader(username: string, password: string, nowMs: number): string {
  const nonce = randomBytes(16);
  const created = new Date(nowMs).toISOString();
  return (
    `<wsse:Security s:mustUnderstand="1" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}"><wsse:UsernameToken>` +
    `<wsse:Username>${esc(username)}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_DIGEST_TYPE}">${passwordDigest(nonce, created, password)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="${BASE64_BINARY}">${nonce.toString('base64')}</wsse:Nonce>` +
    `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}

/** A SOAP 1.2 envelope. `body` is one element carrying its own xmlns. */
export function envelope(body: string, header = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}" xmlns:tt="${NS.tt}">` +
    `<s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

/** A SOAP 1.2 fault (SOAP 1.2 Part 1 §5.4) with an ONVIF `ter:` subcode. */
export function faultEnvelope(code: 'Sender' | 'Receiver', subcode: string, reason: string): string {
  return envelope(
    `<s:Fault xmlns:ter="${NS.ter}"><s:Code><s:Value>s:${code}</s:Value><s:Subcode><s:Value>${esc(subcode)}</s:Value>` +
      `</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">${esc(reason)}</s:Text></s:Reason></s:Fault>`,
  );
}

export interface SoapFault {
  code: string | undefined;
  /** Innermost subcode, prefix kept as sent (e.g. "ter:NotAuthorized"). */
  subcode: string | undefined;
  reason: string | undefined;
}

/** The fault in a parsed envelope, if any. */
export function readFault(doc: Xml): SoapFault | undefined {
  const fault = path(doc, 'Envelope', 'Body', 'Fault');
  if (!isXml(fault)) return undefined;
  let sub: unknown = path(fault, 'Code', 'Subcode');
  let subcode: string | undefined;
  for (let i = 0; isXml(sub) && i < 4; i++, sub = sub.Subcode) subcode = text(sub.Value) ?? subcode;
  return { code: text(path(fault, 'Code', 'Value')), subcode, reason: text(path(fault, 'Reason', 'Text')) };
}

/** ISO 8601 duration as ONVIF uses it (PT10S, PT1M, PT0.5S) → ms; undefined when not understood. */
export function parseDuration(v: string | undefined): number | undefined {
  const m = v ? /^PT(?:(\d{1,4})H)?(?:(\d{1,6})M)?(?:(\d{1,7}(?:\.\d{1,3})?)S)?$/.exec(v.trim()) : null;
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Math.round((Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000);
}

/** ms → xs:duration seconds form ("PT1.5S"). */
export const duration = (ms: number): string => `PT${Math.max(0, ms) / 1000}S`;

/** tt:DateTime (Date + Time, UTC) → ms since epoch. */
export function readDateTime(node: unknown): number | undefined {
  const n = (k: string, ...p: string[]): number => Number(text(path(node, ...p, k)));
  const [y, mo, d] = [n('Year', 'Date'), n('Month', 'Date'), n('Day', 'Date')];
  const [h, mi, s] = [n('Hour', 'Time'), n('Minute', 'Time'), n('Second', 'Time')];
  if (![y, mo, d, h, mi, s].every(Number.isInteger) || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  if (h > 23 || mi > 59 || s > 60) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
