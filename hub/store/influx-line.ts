import type { RbEvent } from '../../protocol/index.js';

/**
 * InfluxDB 1.x line protocol for one event, written here rather than by the `influx` package: its
 * escaper rewrites `\'` inside strings (grammar/escape.js, v5.12) and it gives no say over what a
 * refused point becomes. Every value is checked before it is put on a line, so a point either
 * encodes to exactly one line or is refused with a reason (and dead-lettered, never sent).
 */
export const MEASUREMENT = 'events';
export const TAG_KEYS = ['estate', 'gateway', 'device', 'type'] as const;
const NS_PER_MS = 1_000_000n;
// InfluxDB 1.x accepts times in [-2^63 + 2, 2^63 - 2] ns (models.MinNanoTime / MaxNanoTime).
const MIN_NS = -9_223_372_036_854_775_806n;
const MAX_NS = 9_223_372_036_854_775_806n;
/** Largest ts (ms) whose point time is below MAX_NS whatever seq mod 10⁶ adds. */
const MAX_FAST_MS = 9_223_372_036_853;
/**
 * Tag values: the protocol allows `[a-z0-9-]` ids and dotted types; anything outside a printable,
 * backslash-free set is refused. A newline cannot be escaped in line protocol at all (it ends the
 * point), and a trailing backslash would escape the separator after it; comma, `=` and space are
 * escaped below, so they are safe.
 */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const TAG_VALUE = /^[^\\\u0000-\u001f\u007f]{1,256}$/;

const TAG_ESCAPE = /[,= ]/;
const TAG_ESCAPES = /[,= ]/g;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const STRING_ESCAPES = /[\\"]/g;

export type Encoded = { ok: true; line: string } | { ok: false; reason: string };

/** A tag value with `,`, `=` and space escaped; undefined when it cannot be made safe. */
export function tagValue(value: unknown): string | undefined {
  if (typeof value !== 'string' || !TAG_VALUE.test(value)) return undefined;
  return TAG_ESCAPE.test(value) ? value.replace(TAG_ESCAPES, '\\$&') : value;
}

/**
 * A string field value in double quotes, `\` and `"` escaped (the two escapes InfluxDB 1.x undoes
 * in a string field). Control characters are refused: JSON text and ULIDs never contain one raw.
 */
export function stringField(value: unknown): string | undefined {
  if (typeof value !== 'string' || CONTROL.test(value)) return undefined;
  return `"${value.replace(STRING_ESCAPES, '\\$&')}"`;
}

/** An integer field (`123i`); undefined for NaN, Infinity, fractions and unsafe integers. */
export function intField(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? `${value}i` : undefined;
}

/**
 * Point time in ns: `ts * 1e6 + seq % 1e6`. InfluxDB keys a point by (measurement, tag set, time)
 * and a second write with the same key replaces the first. Adding the gateway sequence number
 * keeps two events of one device in the same millisecond apart, while a re-delivered event (same
 * id, so same ts and seq) lands on its own key and replaces itself: idempotent by id without a
 * read before write. BigInt, because ts * 1e6 (~1.7e18) is far beyond 2^53.
 */
export function pointTime(ts: number, seq: number): bigint {
  return BigInt(ts) * NS_PER_MS + BigInt(seq % 1_000_000);
}

/**
 * The series part of a point (`events,estate=…,gateway=…,device=…,type=…`) by its four tag values:
 * a hub sees the same few series all day, so each is checked and escaped once, not per event. Kept
 * while fewer than SERIES_CACHE; then the cache starts over. Keyed by the values joined with NUL,
 * which a valid tag value never holds (a value holding one is refused, and its key, with more than
 * three NULs, is never a valid tuple's key); non-strings are never cached.
 */
const SERIES_CACHE = 10_000;
const heads = new Map<string, string>();
function seriesHead(e: RbEvent): string | { ok: false; reason: string } {
  const { estate, gateway, device, type } = e;
  const cacheable = typeof estate === 'string' && typeof gateway === 'string' && typeof device === 'string' && typeof type === 'string';
  const key = cacheable ? `${estate}\u0000${gateway}\u0000${device}\u0000${type}` : undefined;
  const held = key === undefined ? undefined : heads.get(key);
  if (held !== undefined) return held;
  const tags: string[] = [];
  for (const k of TAG_KEYS) {
    const v = tagValue(e[k]);
    if (v === undefined) return { ok: false, reason: `unsafe tag ${k}=${JSON.stringify(e[k])}` };
    tags.push(`${k}=${v}`);
  }
  const head = `${MEASUREMENT},${tags.join(',')}`;
  if (key !== undefined) {
    if (heads.size >= SERIES_CACHE) heads.clear();
    heads.set(key, head);
  }
  return head;
}

/**
 * `data` as JSON text. JSON.stringify escapes every control character (so no raw newline reaches
 * the line) and turns NaN/Infinity nested in data into null, which is what the SQLite store keeps too.
 */
export function encodeEvent(e: RbEvent, receivedAt: number): Encoded {
  const head = seriesHead(e);
  if (typeof head !== 'string') return head;
  const id = stringField(e.id);
  if (id === undefined) return { ok: false, reason: `invalid field id=${JSON.stringify(e.id)}` };
  const seq = intField(e.seq);
  if (seq === undefined || e.seq < 0) return { ok: false, reason: `invalid field seq=${String(e.seq)}` };
  const rec = intField(receivedAt);
  if (rec === undefined) return { ok: false, reason: `invalid field received_at=${String(receivedAt)}` };
  if (!Number.isSafeInteger(e.ts)) return { ok: false, reason: `invalid timestamp ts=${String(e.ts)}` };
  let time: string;
  if (e.ts >= 1 && e.ts <= MAX_FAST_MS) {
    // pointTime without BigInt (the hot path): ts·10⁶ + seq mod 10⁶ is ts's digits then 6 more.
    time = `${e.ts}${String(e.seq % 1_000_000).padStart(6, '0')}`;
  } else {
    const ns = pointTime(e.ts, e.seq);
    if (ns < MIN_NS || ns > MAX_NS) return { ok: false, reason: `timestamp out of range ts=${e.ts}` };
    time = String(ns);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(e.data ?? null);
  } catch (err) {
    return { ok: false, reason: `data is not JSON: ${(err as Error).message}` };
  }
  const data = stringField(json);
  if (data === undefined) return { ok: false, reason: 'data is not JSON text' };
  return { ok: true, line: `${head} id=${id},seq=${seq},data=${data},received_at=${rec} ${time}` };
}

/** An RFC 3339 time as InfluxDB returns it (`2024-05-01T08:00:00.000001Z`) to ns, exactly. */
export function parseTimeNs(text: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}Z`) : NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`unexpected time from InfluxDB: ${JSON.stringify(text)}`);
  return BigInt(ms) * NS_PER_MS + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** ns to ms; BigInt division truncates, and the ns remainder (seq % 1e6) is always below 1 ms. */
export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS);
}

/** A field of a generic point with its InfluxDB type (a field keeps one type per shard). */
export type PointField =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean };

/** A generic point (facts: gateway status, alert transitions...). `ts` in ms; a fraction keeps µs. */
export interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, PointField>;
  ts: number;
}

/** Measurement, tag and field keys: plain identifiers only, so they never need escaping. */
export const POINT_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Line protocol for a generic point, under the same rules as an event: tag values through
 * `tagValue` (control characters and backslashes refused), string fields through `stringField`,
 * numbers finite (integers safe), time in InfluxDB's range. Tags are sorted (InfluxDB's own order).
 */
export function encodePoint(p: Point): Encoded {
  if (!POINT_KEY.test(p.measurement)) return { ok: false, reason: `unsafe measurement ${JSON.stringify(p.measurement)}` };
  const tags: string[] = [];
  for (const key of Object.keys(p.tags).sort()) {
    if (!POINT_KEY.test(key)) return { ok: false, reason: `unsafe tag key ${JSON.stringify(key)}` };
    const v = tagValue(p.tags[key]);
    if (v === undefined) return { ok: false, reason: `unsafe tag ${key}=${JSON.stringify(p.tags[key])}` };
    tags.push(`,${key}=${v}`);
  }
  const fields: string[] = [];
  for (const [key, f] of Object.entries(p.fields)) {
    if (!POINT_KEY.test(key)) return { ok: false, reason: `unsafe field key ${JSON.stringify(key)}` };
    let text: string | undefined;
    if (f.kind === 'int') text = intField(f.value);
    else if (f.kind === 'float') text = typeof f.value === 'number' && Number.isFinite(f.value) ? String(f.value) : undefined;
    else if (f.kind === 'string') text = stringField(f.value);
    else text = typeof f.value === 'boolean' ? String(f.value) : undefined;
    if (text === undefined) return { ok: false, reason: `invalid ${f.kind} field ${key}=${String(f.value)}` };
    fields.push(`${key}=${text}`);
  }
  if (fields.length === 0) return { ok: false, reason: 'a point needs at least one field' };
  if (!Number.isFinite(p.ts)) return { ok: false, reason: `invalid timestamp ts=${String(p.ts)}` };
  const whole = Math.floor(p.ts);
  const time = BigInt(whole) * NS_PER_MS + BigInt(Math.round((p.ts - whole) * 1000)) * 1000n;
  if (time < MIN_NS || time > MAX_NS) return { ok: false, reason: `timestamp out of range ts=${p.ts}` };
  return { ok: true, line: `${p.measurement}${tags.join('')} ${fields.join(',')} ${time}` };
}
