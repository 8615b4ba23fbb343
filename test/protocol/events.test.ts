import { describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  EVENT_TYPES,
  TS_MAX,
  TS_MIN,
  decodeEvent,
  isAlarmEvent, isAlarmType,
  type EventType,
  type RejectReason,
} from '../../protocol/index.js';

const MAX = DEFAULT_MAX_PAYLOAD_BYTES;

function envelope(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    id: ulid(),
    seq: 7,
    ts: Date.UTC(2024, 4, 1),
    estate: 'maple-court',
    gateway: 'gw-1',
    device: 'gate-east',
    type: 'door.forced',
    data: { door: 1 },
    ...over,
  };
}

/** One valid `data` per type, with every optional field used. */
const VALID_DATA: Record<EventType, Record<string, unknown>> = {
  'access.granted': {
    door: 1,
    reader: 2,
    method: 'card',
    credential: 'a1b2c3d4e5f60718',
    person: '0123456789abcdef',
    source: { vendor: 'hikvision-isapi', major: 5, minor: 1, serial: 4711 },
  },
  'access.denied': { door: 2, method: 'face', reason: 'face-mismatch', source: { vendor: 'hikvision-isapi', major: 5, minor: 0x4c } },
  'door.opened': { door: 1, source: { vendor: 'zkteco-adms' } },
  'door.closed': { door: 64 },
  'door.forced': { door: 3, source: { vendor: 'hikvision-isapi', major: 5, minor: 0x1b } },
  'door.held': { door: 1, heldS: 42.5 },
  'device.tamper': { zone: 0, source: { vendor: 'hikvision-isapi', major: 1, minor: 0x404 } },
  'gateway.outbox.pressure': {
    reason: 'cap',
    depth: 100_000,
    bytes: 31_457_280,
    maxRecords: 100_000,
    maxBytes: 536_870_912,
    droppedTotal: 1250,
    droppedSinceStart: 0,
  },
  'vehicle.entered': { lane: 1, plate: '苏A12345', plateColor: 'blue', confidence: 97, list: 'allow', snapshots: ['a'.repeat(64)], source: { vendor: 'hikvision-anpr', serial: 3 } },
  'vehicle.exited': { lane: 2, plate: '苏AD12345', plateColor: 'green', confidence: 88.5, list: 'other' },
  'vehicle.denied': { lane: 1, plate: '京B88888', plateColor: 'yellow', confidence: 91, list: 'block', reason: 'blocklist' },
  'barrier.opened': { lane: 1, source: { vendor: 'hikvision-anpr' } },
  'barrier.closed': { lane: 1 },
  'barrier.fault': { lane: 1, reason: 'arm blocked' },
  'camera.motion': { state: true, rule: 'MyMotionDetectorRule', source: { vendor: 'onvif', topic: 'tns1:RuleEngine/CellMotionDetector/Motion' } },
  'camera.tamper': { state: true, snapshots: ['b'.repeat(64)] },
  'camera.signalLoss': { state: false },
  'device.offline': { reason: 'no answer to GetSystemDateAndTime for 60 s' },
  'device.online': {},
};

function reasonOf(payload: string | Uint8Array, max = MAX): RejectReason | 'ok' {
  const r = decodeEvent(payload, max);
  return r.ok ? 'ok' : r.reason;
}

describe('decodeEvent accepts', () => {
  it('a valid event of every type, from a string and from bytes, unchanged', () => {
    expect(Object.keys(VALID_DATA).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    for (const [type, data] of Object.entries(VALID_DATA)) {
      const value = envelope({ type, data });
      const json = JSON.stringify(value);
      for (const payload of [json, Buffer.from(json), new Uint8Array(Buffer.from(json))]) {
        const r = decodeEvent(payload, MAX);
        expect(r, type).toEqual({ ok: true, event: value });
      }
    }
  });

  it('the boundary values of ts, seq and ids', () => {
    for (const over of [
      { ts: TS_MIN },
      { ts: TS_MAX },
      { seq: 0 },
      { seq: Number.MAX_SAFE_INTEGER },
      { estate: 'a', gateway: '0', device: 'z'.repeat(64) },
    ]) {
      expect(reasonOf(JSON.stringify(envelope(over))), JSON.stringify(over)).toBe('ok');
    }
  });

  it('a payload of exactly the cap, counted in bytes', () => {
    const json = JSON.stringify(envelope());
    expect(reasonOf(json + ' '.repeat(1000 - Buffer.byteLength(json)), 1000)).toBe('ok');
  });
});

describe('decodeEvent rejects, with the reason', () => {
  it('malformed-json: not JSON, truncated, empty, invalid UTF-8', () => {
    for (const payload of ['{', '{"v":1,', '', 'door.forced', "{'v':1}", '{"v":1}}', Buffer.from([0xff, 0xfe, 0x7b])]) {
      const r = decodeEvent(payload, MAX);
      expect(r.ok, String(payload)).toBe(false);
      if (!r.ok) {
        expect(r.reason, String(payload)).toBe('malformed-json');
        expect(r.message.length).toBeGreaterThan(0);
      }
    }
  });

  it('schema: JSON that is not an envelope', () => {
    for (const payload of ['null', '42', '"door.forced"', '[]', 'true', '{}']) {
      expect(reasonOf(payload), payload).toBe('schema');
    }
  });

  it('schema: each envelope field wrong or missing, or an extra one', () => {
    const bad: Array<Record<string, unknown>> = [
      { v: 2 },
      { v: '1' },
      { id: 'not-a-ulid' },
      { id: ulid().toLowerCase() },
      { id: '8' + ulid().slice(1) }, // first character > 7: time overflow
      { seq: -1 },
      { seq: 1.5 },
      { seq: Number.MAX_SAFE_INTEGER + 2 },
      { seq: '7' },
      { ts: TS_MIN - 1 },
      { ts: TS_MAX + 1 },
      { ts: 1.5 },
      { estate: 'Maple-Court' },
      { gateway: 'gw/1' },
      { device: 'gate+east' },
      { device: '' },
      { device: 'd'.repeat(65) },
      { type: 't'.repeat(65) },
      { type: 7 },
      { data: 'door 1' },
      { data: null },
      { data: [1] },
      { extra: true },
    ];
    for (const over of bad) expect(reasonOf(JSON.stringify(envelope(over))), JSON.stringify(over)).toBe('schema');
    for (const field of ['v', 'id', 'seq', 'ts', 'estate', 'gateway', 'device', 'type', 'data']) {
      const value = envelope();
      delete value[field];
      expect(reasonOf(JSON.stringify(value)), `without ${field}`).toBe('schema');
    }
  });

  it('schema: data that does not fit its type, naming the type and field', () => {
    const bad: Array<[EventType, Record<string, unknown>]> = [
      ['door.forced', {}],
      ['door.forced', { door: 0 }],
      ['door.forced', { door: 65 }],
      ['door.forced', { door: '1' }],
      ['door.forced', { door: 1, extra: 1 }],
      ['door.held', { door: 1, heldS: -1 }],
      ['access.granted', { door: 1 }],
      ['access.granted', { door: 1, method: 'telepathy' }],
      ['access.granted', { door: 1, method: 'card', credential: '1234' }],
      ['access.granted', { door: 1, method: 'card', credential: 'A1B2C3D4E5F60718' }],
      ['access.denied', { door: 1, method: 'card' }],
      ['device.tamper', { zone: -1 }],
      ['door.opened', { door: 1, source: { vendor: 'v', bogus: 1 } }],
      ['gateway.outbox.pressure', { reason: 'full', depth: 1, bytes: 1, maxRecords: 1, maxBytes: 1, droppedTotal: 0, droppedSinceStart: 0 }],
      ['gateway.outbox.pressure', { reason: 'cap', depth: 1, bytes: 1, maxRecords: 0, maxBytes: 1, droppedTotal: 0, droppedSinceStart: 0 }],
    ];
    for (const [type, data] of bad) {
      const r = decodeEvent(JSON.stringify(envelope({ type, data })), MAX);
      expect(r.ok ? 'ok' : r.reason, `${type} ${JSON.stringify(data)}`).toBe('schema');
      if (!r.ok) expect(r.message).toContain(`data of ${type}`);
    }
  });

  it('unknown-type: a type that is not in the catalogue, including Object.prototype names', () => {
    for (const type of ['door.exploded', 'DOOR.FORCED', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const r = decodeEvent(JSON.stringify(envelope({ type })), MAX);
      expect(r.ok ? 'ok' : r.reason, type).toBe('unknown-type');
      if (!r.ok) expect(r.message).toContain(JSON.stringify(type));
    }
  });

  it('too-large: one byte over the cap, counted in UTF-8 bytes, before parsing', () => {
    const json = JSON.stringify(envelope());
    const size = Buffer.byteLength(json);
    expect(reasonOf(json, size - 1)).toBe('too-large');
    expect(reasonOf(Buffer.from(json), size - 1)).toBe('too-large');
    // 300 CJK characters are 900 bytes: over a cap of 600 though only 300 string characters
    const cjk = JSON.stringify(envelope({ data: { door: 1, source: { vendor: '红' } } })) + '红'.repeat(300);
    expect(reasonOf(cjk, cjk.length + 10)).toBe('too-large');
    // the size check comes first: garbage over the cap is too-large, not malformed-json
    const r = decodeEvent('{'.repeat(2048), 1024);
    expect(r).toEqual({ ok: false, reason: 'too-large', message: 'payload of 2048 bytes exceeds 1024' });
  });
});

describe('event classes', () => {
  const alarms: Record<EventType, boolean> = {
    'access.granted': false,
    'access.denied': false,
    'door.opened': false,
    'door.closed': false,
    'door.forced': true,
    'door.held': true,
    'device.tamper': true,
    'gateway.outbox.pressure': true,
    'vehicle.entered': false,
    'vehicle.exited': false,
    'vehicle.denied': false,
    'barrier.opened': false,
    'barrier.closed': false,
    'barrier.fault': true,
    'camera.motion': false,
    'camera.tamper': true,
    'camera.signalLoss': true,
    'device.offline': false,
    'device.online': false,
  };

  it('marks exactly the alarm types, and a blocklisted plate, as alarms', () => {
    expect(isAlarmEvent({ type: 'vehicle.denied', data: { list: 'block' } })).toBe(true);
    expect(isAlarmEvent({ type: 'vehicle.denied', data: { list: 'other' } })).toBe(false);
    expect(isAlarmEvent({ type: 'door.forced', data: {} })).toBe(true);
    expect(isAlarmEvent({ type: 'constructor' })).toBe(false);
    expect(Object.keys(alarms).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    for (const [type, alarm] of Object.entries(alarms)) {
      expect(EVENT_TYPES[type as EventType].alarm, type).toBe(alarm);
      expect(isAlarmType(type), type).toBe(alarm);
    }
  });

  it('treats unknown types as not alarms', () => {
    expect(isAlarmType('door.exploded')).toBe(false);
    expect(isAlarmType('')).toBe(false);
    // Falsy, not `false`: for names on Object.prototype isAlarmType returns undefined (see report).
    expect(isAlarmType('constructor')).toBeFalsy();
    expect(isAlarmType('toString')).toBeFalsy();
  });
});
