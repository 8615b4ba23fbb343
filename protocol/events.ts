import { z } from 'zod';
import { ID_PATTERN, Id, ULID_PATTERN, Ulid } from './ids.js';
import { DEVICE_EVENT_TYPES } from './device-events.js';
import { EdgeNotice } from './edge.js';
import type { HUB_EVENT_TYPES, HubEventType } from './hub-events.js';

/** A one-way hash (HMAC-SHA-256, per-estate salt, hex) of a card number, face id or person id. */
export const Hash = z.string().regex(/^[0-9a-f]{16,64}$/, { message: 'must be a lowercase hex hash' });

/** Where a normalised event came from on the device (vendor codes), kept for audit and debugging. */
export const Source = z
  .object({
    vendor: z.string().max(32).describe('Vendor protocol, e.g. "hikvision-isapi"'),
    major: z.number().int().optional().describe('Vendor major event code'),
    minor: z.number().int().optional().describe('Vendor minor (sub) event code'),
    serial: z.number().int().nonnegative().optional().describe("Device's own event serial number"),
  })
  .strict();

const Door = z.number().int().min(1).max(64).describe('Door number on the controller, from 1');
const Reader = z.number().int().min(1).max(64).describe('Card reader number, from 1');

export const AccessMethod = z.enum(['card', 'face', 'fingerprint', 'password', 'qr', 'remote', 'unknown']);
export const DenyReason = z.enum([
  'unknown-credential',
  'no-permission',
  'expired',
  'outside-schedule',
  'face-mismatch',
  'other',
]);

const accessBase = {
  door: Door,
  reader: Reader.optional(),
  method: AccessMethod,
  credential: Hash.optional().describe('Hashed card number or face id'),
  person: Hash.optional().describe('Hashed person / employee number'),
  source: Source.optional(),
};

/**
 * Every event type with the schema of its `data`, and its class. Alarm-class events go first on
 * replay and are never dropped by the gateway outbox.
 */
export const EVENT_TYPES = {
  'access.granted': { alarm: false, data: z.object(accessBase).strict() },
  'access.denied': { alarm: false, data: z.object({ ...accessBase, reason: DenyReason }).strict() },
  'door.opened': { alarm: false, data: z.object({ door: Door, source: Source.optional() }).strict() },
  'door.closed': { alarm: false, data: z.object({ door: Door, source: Source.optional() }).strict() },
  'door.forced': { alarm: true, data: z.object({ door: Door, source: Source.optional() }).strict() },
  'door.held': {
    alarm: true,
    data: z
      .object({
        door: Door,
        heldS: z.number().nonnegative().optional().describe('Seconds the door has been open'),
        source: Source.optional(),
      })
      .strict(),
  },
  'device.tamper': {
    alarm: true,
    data: z.object({ zone: z.number().int().min(0).optional(), source: Source.optional() }).strict(),
  },
  /**
   * The gateway's outbox is at a cap (or its disk is full) and it is dropping routine events. Sent
   * with the gateway id as the device id. Alarm class: it is itself never dropped.
   */
  'gateway.outbox.pressure': {
    alarm: true,
    data: z
      .object({
        reason: z.enum(['cap', 'disk-full']),
        depth: z.number().int().nonnegative(),
        bytes: z.number().int().nonnegative(),
        maxRecords: z.number().int().positive(),
        maxBytes: z.number().int().positive(),
        droppedTotal: z.number().int().nonnegative().describe('Routine events dropped over the outbox life'),
        droppedSinceStart: z.number().int().nonnegative(),
      })
      .strict(),
  },
  ...DEVICE_EVENT_TYPES,
} as const;

export type EventType = keyof typeof EVENT_TYPES;
export const EventTypeName = z.enum(Object.keys(EVENT_TYPES) as [EventType, ...EventType[]]);

/** Whether every event of this type is alarm class. */
export function isAlarmType(type: string): boolean {
  return Object.hasOwn(EVENT_TYPES, type) && EVENT_TYPES[type as EventType].alarm;
}

/**
 * Whether one event is alarm class: its type is, or it is a blocklisted plate at a barrier. Alarm-class
 * events go first on replay and are never dropped by the gateway outbox.
 */
export function isAlarmEvent(event: { type: string; data?: unknown }): boolean {
  if (isAlarmType(event.type)) return true;
  return event.type === 'vehicle.denied' && (event.data as { list?: unknown } | undefined)?.list === 'block';
}

/** Earliest and latest device timestamps accepted (ms). Anything else is a broken clock or forgery. */
export const TS_MIN = Date.UTC(2000, 0, 1);
export const TS_MAX = Date.UTC(2100, 0, 1);

/** The envelope without its type-specific data; the first check applied to every event message. */
export const EnvelopeBase = z
  .object({
    v: z.literal(1).describe('Protocol version'),
    id: Ulid.describe('Event id, a ULID; the hub deduplicates by it'),
    seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).describe('Gateway sequence number'),
    ts: z.number().int().min(TS_MIN).max(TS_MAX).describe('Device time of the event, ms since epoch'),
    estate: Id,
    gateway: Id,
    device: Id,
    type: z.string().max(64),
    data: z.record(z.string(), z.unknown()),
    edge: EdgeNotice.optional().describe('Set by a gateway that texted people about this event itself while the hub was unreachable (protocol/edge.ts)'),
  })
  .strict();

type DataOf<K extends EventType> = z.infer<(typeof EVENT_TYPES)[K]['data']>;

/** A validated event. `type` discriminates `data`. Hub events (protocol/hub-events.ts) come from the hub itself, never from a gateway. */
export type RbEvent =
  | {
      [K in EventType]: Omit<z.infer<typeof EnvelopeBase>, 'type' | 'data'> & { type: K; data: DataOf<K> };
    }[EventType]
  | HubEvent;

/** An event the hub appends itself (gateway HUB_GATEWAY). */
export type HubEvent = {
  [K in HubEventType]: Omit<z.infer<typeof EnvelopeBase>, 'type' | 'data'> & { type: K; data: z.infer<(typeof HUB_EVENT_TYPES)[K]['data']> };
}[HubEventType];

export type RejectReason = 'malformed-json' | 'schema' | 'unknown-type' | 'topic-mismatch' | 'too-large';

export type Validation =
  | { ok: true; event: RbEvent }
  | { ok: false; reason: RejectReason; message: string };

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

const ENVELOPE_KEYS = new Set(['v', 'id', 'seq', 'ts', 'estate', 'gateway', 'device', 'type', 'data']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A fast check that `value` passes `EnvelopeBase`, for the hub's hot path (zod's generic machinery
 * costs several µs an event). It may say false for a value zod would accept (then zod decides), but
 * never true for one zod refuses: the same rules, written out, plus "a plain object" (what JSON.parse
 * returns). test/hub/ingest-validate.test.ts holds it to EnvelopeBase on mutations of every field.
 */
export function isEnvelopeFast(value: unknown): value is z.infer<typeof EnvelopeBase> {
  if (!isPlainObject(value)) return false;
  let keys = 0;
  for (const k in value) {
    if (!ENVELOPE_KEYS.has(k)) return false; // .strict(): no unknown keys (an optional one goes the zod way)
    keys++;
  }
  if (keys !== ENVELOPE_KEYS.size) return false;
  const { v, id, seq, ts, estate, gateway, device, type, data } = value;
  return (
    v === 1 &&
    typeof id === 'string' && ULID_PATTERN.test(id) &&
    Number.isSafeInteger(seq) && (seq as number) >= 0 &&
    Number.isSafeInteger(ts) && (ts as number) >= TS_MIN && (ts as number) <= TS_MAX &&
    typeof estate === 'string' && ID_PATTERN.test(estate) &&
    typeof gateway === 'string' && ID_PATTERN.test(gateway) &&
    typeof device === 'string' && ID_PATTERN.test(device) &&
    typeof type === 'string' && type.length <= 64 &&
    isPlainObject(data)
  );
}

/** Validate an already-parsed value as an event envelope plus the data schema of its type. */
export function validateEvent(value: unknown): Validation {
  // Hot path: the envelope checked by hand, `data` by the zod schema of its type only. Anything it
  // does not accept takes the full zod path below, which also words every refusal.
  if (isEnvelopeFast(value) && Object.hasOwn(EVENT_TYPES, value.type)) {
    const data = EVENT_TYPES[value.type as EventType].data.safeParse(value.data);
    if (data.success) {
      const { v, id, seq, ts, estate, gateway, device, type } = value;
      return { ok: true, event: { v, id, seq, ts, estate, gateway, device, type, data: data.data } as RbEvent };
    }
  }
  const base = EnvelopeBase.safeParse(value);
  if (!base.success) return { ok: false, reason: 'schema', message: describeIssues(base.error) };
  const spec = EVENT_TYPES[base.data.type as EventType];
  if (!spec || !Object.hasOwn(EVENT_TYPES, base.data.type)) {
    return { ok: false, reason: 'unknown-type', message: `unknown event type ${JSON.stringify(base.data.type)}` };
  }
  const data = spec.data.safeParse(base.data.data);
  if (!data.success) {
    return { ok: false, reason: 'schema', message: `data of ${base.data.type}: ${describeIssues(data.error)}` };
  }
  return { ok: true, event: { ...base.data, data: data.data } as RbEvent };
}

/** Parse bytes from the wire (UTF-8 JSON) and validate. Never throws. */
export function decodeEvent(payload: Uint8Array | string, maxBytes: number): Validation {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return { ok: false, reason: 'too-large', message: `payload of ${size} bytes exceeds ${maxBytes}` };
  let value: unknown;
  try {
    // A Buffer (what the broker hands over) is read in place; Buffer.from(buffer) would copy it.
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'malformed-json', message: (err as Error).message };
  }
  return validateEvent(value);
}
