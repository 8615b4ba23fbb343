import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPushServer, type PushServer } from '../../../gateway/push-server.js';
import {
  createIsapiDriver,
  IsapiOptions,
  isapiDriverFactory,
  parseIsapiTime,
  type IsapiDriver,
  type IsapiRejectReason,
} from '../../../devices/access-gate/isapi-driver.js';
import { accessGateProfile } from '../../../devices/access-gate/profile.js';
import { createAccessGateSimulator, type AccessGateSimulator, type SimKind } from '../../../devices/access-gate/simulator.js';
import { getDriverFactory } from '../../../devices/registry.js';
import type { DraftEvent } from '../../../devices/types.js';
import { createLogger, silentLogger, type Logger } from '../../../lib/log.js';
import { validateEvent } from '../../../protocol/index.js';

const SALT = 'test-salt';
const hash = (v: string): string => createHmac('sha256', SALT).update(v, 'utf8').digest('hex');
// Distinctive raw values, so finding one anywhere in the output cannot be a coincidence.
const CARD = '0098761234';
const EMPLOYEE = 'EMP-77310042';
const NAME = '测试居民甲';
const AT = Date.UTC(2026, 10, 27, 11, 0, 0); // 2026-11-27T19:00:00+08:00

interface Harness {
  server: PushServer;
  driver: IsapiDriver;
  drafts: DraftEvent[];
  logs: string[];
  url(path: string): string;
  fail: { emit: boolean };
}

async function harness(opts: { maxBodyBytes?: number; options?: Record<string, unknown>; device?: string } = {}) {
  const logs: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(chunk.toString()), cb()) });
  const log: Logger = createLogger({ name: 'test', level: 'debug', destination: sink });
  const server = createPushServer({ host: '127.0.0.1', port: 0, maxBodyBytes: opts.maxBodyBytes, log });
  const drafts: DraftEvent[] = [];
  const fail = { emit: false };
  const options = IsapiOptions.parse(opts.options ?? {});
  const device = opts.device ?? 'gate-1';
  const driver = createIsapiDriver({
    estate: 'estate-1',
    gateway: 'gw-1',
    device: { id: device, driver: 'hikvision-isapi', options: opts.options ?? {} },
    options,
    log,
    hash,
    routes: server.routes,
    emit: async (draft) => {
      if (fail.emit) throw new Error('outbox full');
      drafts.push(draft);
    },
  });
  await driver.start();
  await server.start();
  const { port } = server.address();
  const h: Harness = { server, driver, drafts, logs, fail, url: (path) => `http://127.0.0.1:${port}${path}` };
  return h;
}

const src = (major: number, minor: number, serial: number) => ({ vendor: 'hikvision-isapi', major, minor, serial });

/** What each kind must become, sent with door 2, reader 1, CARD / EMPLOYEE / NAME where the kind has them. */
const EXPECTED: Record<SimKind, (serial: number) => DraftEvent> = {
  'card-ok': (s) => ({
    type: 'access.granted',
    ts: AT,
    dedupKey: String(s),
    data: { door: 2, reader: 1, method: 'card', credential: hash(CARD), person: hash(EMPLOYEE), source: src(5, 0x01, s) },
  }),
  'card-unknown': (s) => ({
    type: 'access.denied',
    ts: AT,
    dedupKey: String(s),
    data: { door: 2, reader: 1, method: 'card', credential: hash(CARD), reason: 'unknown-credential', source: src(5, 0x09, s) },
  }),
  'face-ok': (s) => ({
    type: 'access.granted',
    ts: AT,
    dedupKey: String(s),
    data: { door: 2, reader: 1, method: 'face', person: hash(EMPLOYEE), source: src(5, 0x4b, s) },
  }),
  'face-fail': (s) => ({
    type: 'access.denied',
    ts: AT,
    dedupKey: String(s),
    data: { door: 2, reader: 1, method: 'face', reason: 'face-mismatch', source: src(5, 0x4c, s) },
  }),
  'door-open': (s) => ({ type: 'door.opened', ts: AT, dedupKey: String(s), data: { door: 2, source: src(5, 0x19, s) } }),
  'door-close': (s) => ({ type: 'door.closed', ts: AT, dedupKey: String(s), data: { door: 2, source: src(5, 0x1a, s) } }),
  forced: (s) => ({ type: 'door.forced', ts: AT, dedupKey: String(s), data: { door: 2, source: src(5, 0x1b, s) } }),
  held: (s) => ({ type: 'door.held', ts: AT, dedupKey: String(s), data: { door: 2, source: src(5, 0x1c, s) } }),
  tamper: (s) => ({ type: 'device.tamper', ts: AT, dedupKey: String(s), data: { zone: 0, source: src(1, 0x404, s) } }),
};
const KINDS = Object.keys(EXPECTED) as SimKind[];

/** The envelope the gateway would build around a draft; the hub's validator must accept it. */
function envelope(d: DraftEvent) {
  const base = { v: 1, id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', seq: 1, estate: 'estate-1', gateway: 'gw-1', device: 'gate-1' };
  return { ...base, ts: d.ts, type: d.type, data: d.data };
}

describe('hikvision-isapi driver over HTTP, driven by the simulator', () => {
  let h: Harness;
  let sim: AccessGateSimulator;
  const base = (): ReturnType<IsapiDriver['stats']> => h.driver.stats();

  beforeAll(async () => {
    h = await harness();
    sim = createAccessGateSimulator({ target: h.url('/isapi/gate-1'), deviceName: 'east gate', doors: 2 });
  });
  afterAll(async () => {
    sim.stop();
    await h.driver.stop();
    await h.server.stop();
  });
  beforeEach(() => {
    h.drafts.length = 0;
    h.fail.emit = false;
  });

  describe.each(['multipart', 'json'] as const)('as %s', (format) => {
    it.each(KINDS)('maps %s to the right event, every field', async (kind) => {
      const sent = await sim.send(kind, { format, door: 2, reader: 1, cardNo: CARD, employeeNo: EMPLOYEE, name: NAME, at: AT });
      expect(sent.status).toBe(200);
      expect(JSON.parse(sent.body)).toEqual({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' });
      expect(sent.json.dateTime).toBe('2026-11-27T19:00:00+08:00');
      expect(h.drafts).toEqual([EXPECTED[kind](sent.serialNo)]);
      const checked = validateEvent(envelope(h.drafts[0]!));
      expect(checked.ok, checked.ok ? '' : checked.message).toBe(true);
    });
  });

  it('never lets a raw card number, name or employee number out, in events or logs', async () => {
    for (const kind of KINDS) await sim.send(kind, { cardNo: CARD, employeeNo: EMPLOYEE, name: NAME });
    await sim.send('card-ok', { cardNo: CARD, employeeNo: EMPLOYEE, name: NAME, format: 'json' });
    const out = JSON.stringify(h.drafts) + h.logs.join('');
    expect(h.drafts.length).toBe(KINDS.length + 1);
    for (const raw of [CARD, EMPLOYEE, NAME, 'Picture.jpg']) expect(out).not.toContain(raw);
    expect(out).toContain(hash(CARD));
  });

  it('gives a re-posted event (same serialNo) the same dedupKey', async () => {
    const first = await sim.send('card-ok');
    const again = await sim.send('card-ok', { serialNo: first.serialNo });
    expect(again.status).toBe(200);
    expect(h.drafts).toHaveLength(2);
    expect(h.drafts[0]!.dedupKey).toBe(String(first.serialNo));
    expect(h.drafts[1]!.dedupKey).toBe(h.drafts[0]!.dedupKey);
    expect((await sim.send('card-ok')).serialNo).toBe(first.serialNo + 1);
  });

  it('defaults the door to 1 when a one-door face terminal sends no doorNo', async () => {
    const terminal = createAccessGateSimulator({ target: h.url('/isapi/gate-1'), deviceName: 'face terminal' });
    const sent = await terminal.send('face-ok', { employeeNo: EMPLOYEE });
    terminal.stop();
    expect(sent.json.AccessControllerEvent).not.toHaveProperty('doorNo');
    expect(h.drafts[0]).toMatchObject({ type: 'access.granted', data: { door: 1, method: 'face' } });
  });

  it('reads doorNo 0 and a null cardReaderNo as "not given"', async () => {
    const ace = { majorEventType: 5, subEventType: 0x19, doorNo: 0, cardReaderNo: null };
    const doc = { dateTime: '2026-11-27T19:00:00+08:00', AccessControllerEvent: ace };
    expect((await sim.sendRaw(JSON.stringify(doc), 'application/json')).status).toBe(200);
    expect(h.drafts).toEqual([{ type: 'door.opened', ts: AT, data: { door: 1, source: { vendor: 'hikvision-isapi', major: 5, minor: 0x19 } } }]);
  });

  it('takes the method from a single-factor currentVerifyMode when the code does not say', async () => {
    const doc = (mode: string) => ({
      dateTime: '2026-11-27T19:00:00+08:00',
      eventType: 'AccessControllerEvent',
      AccessControllerEvent: { majorEventType: 5, subEventType: 0x10, currentVerifyMode: mode, serialNo: 9 },
    });
    await sim.sendRaw(JSON.stringify(doc('face')), 'application/json');
    await sim.sendRaw(JSON.stringify(doc('cardOrFace')), 'application/json');
    expect(h.drafts.map((d) => d.type === 'access.granted' && d.data.method)).toEqual(['face', 'unknown']);
  });

  it('reads the XML form of the same event (parameterFormatType XML)', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
      '<dateTime>2026-11-27T19:00:00+08:00</dateTime><eventType>AccessControllerEvent</eventType>' +
      `<AccessControllerEvent><majorEventType>5</majorEventType><subEventType>6</subEventType><cardNo>${CARD}</cardNo>` +
      '<doorNo>2</doorNo><serialNo>77</serialNo></AccessControllerEvent></EventNotificationAlert>';
    expect((await sim.sendRaw(xml, 'application/xml')).status).toBe(200);
    expect(h.drafts).toEqual([
      {
        type: 'access.denied',
        ts: AT,
        dedupKey: '77',
        data: { door: 2, method: 'card', credential: hash(CARD), reason: 'no-permission', source: src(5, 6, 77) },
      },
    ]);
  });

  it('accepts the event part under its other firmware name and with bare LF line ends', async () => {
    const json = JSON.stringify({
      dateTime: '2026-11-27T19:00:00+08:00',
      AccessControllerEvent: { majorEventType: 5, subEventType: 0x1b, doorNo: 1, serialNo: 5 },
    });
    const body = `--b\nContent-Disposition: form-data; name="AccessControllerEvent"\n\n${json}\n--b--\n`;
    expect((await sim.sendRaw(body, 'multipart/form-data; boundary="b"')).status).toBe(200);
    expect(h.drafts[0]).toMatchObject({ type: 'door.forced', data: { door: 1 } });
  });

  it('ignores codes it does not map, answering 200 and counting them', async () => {
    const before = base().ignored;
    const doc = { dateTime: '2026-11-27T19:00:00+08:00', AccessControllerEvent: { majorEventType: 3, subEventType: 0x70 } };
    expect((await sim.sendRaw(JSON.stringify(doc), 'application/json')).status).toBe(200);
    expect(base().ignored).toBe(before + 1);
    expect(h.drafts).toHaveLength(0);
  });

  it('answers 503 when the gateway cannot queue the event, so the device posts it again', async () => {
    h.fail.emit = true;
    const first = await sim.send('forced');
    expect(first.status).toBe(503);
    expect(base().rejected['emit-failed']).toBe(1);
    h.fail.emit = false;
    expect((await sim.send('forced', { serialNo: first.serialNo })).status).toBe(200);
    expect(h.drafts.map((d) => d.dedupKey)).toEqual([String(first.serialNo)]);
  });

  const ISAPI_OK = { dateTime: '2026-11-27T19:00:00+08:00', eventType: 'AccessControllerEvent' };
  const badInputs: Array<[string, IsapiRejectReason, string | Buffer, string]> = [
    ['garbage body', 'unrecognised-body', 'hello, this is not an event', 'text/plain'],
    ['binary garbage', 'unrecognised-body', Buffer.from([0, 1, 2, 255, 254]), 'application/octet-stream'],
    ['invalid JSON', 'invalid-json', `{"eventType": "AccessControllerEvent", "cardNo": "${CARD}"`, 'application/json'],
    ['a JSON array', 'not-an-object', '[1, 2, 3]', 'application/json'],
    ['no AccessControllerEvent', 'missing-event', JSON.stringify(ISAPI_OK), 'application/json'],
    ['no major/minor', 'missing-code', JSON.stringify({ ...ISAPI_OK, AccessControllerEvent: { serialNo: 1 } }), 'application/json'],
    [
      'a string minor',
      'missing-code',
      JSON.stringify({ ...ISAPI_OK, AccessControllerEvent: { majorEventType: 5, subEventType: 'card' } }),
      'application/json',
    ],
    ...(['yesterday', '2026-11-27T19:00:00', '2026-02-30T10:00:00+08:00', '1970-01-01T00:00:00Z', 42].map((dateTime) => [
      `dateTime ${JSON.stringify(dateTime)}`,
      'bad-date',
      JSON.stringify({ dateTime, AccessControllerEvent: { majorEventType: 5, subEventType: 1 } }),
      'application/json',
    ]) as Array<[string, IsapiRejectReason, string, string]>),
    [
      'a doorNo that is not a number',
      'bad-field',
      JSON.stringify({ ...ISAPI_OK, AccessControllerEvent: { majorEventType: 5, subEventType: 0x19, doorNo: 'front' } }),
      'application/json',
    ],
    [
      'a negative serialNo',
      'bad-field',
      JSON.stringify({ ...ISAPI_OK, AccessControllerEvent: { majorEventType: 5, subEventType: 0x19, serialNo: -1 } }),
      'application/json',
    ],
    ['multipart without boundary', 'bad-multipart', '--x\r\n\r\n{}\r\n--x--', 'multipart/form-data'],
    ['multipart without the boundary in it', 'bad-multipart', 'just text', 'multipart/form-data; boundary=x'],
    ['multipart, unterminated', 'bad-multipart', '--x\r\nContent-Type: application/json\r\n\r\n{}', 'multipart/form-data; boundary=x'],
    [
      'multipart with only a picture',
      'bad-multipart',
      '--x\r\nContent-Disposition: form-data; name="Picture"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--x--\r\n',
      'multipart/form-data; boundary=x',
    ],
    ['XML that is not an event', 'invalid-xml', '<html><body>hi</body></html>', 'text/xml'],
  ];

  it.each(badInputs)('answers 400 to %s (%s), counts it, and keeps serving', async (_name, reason, body, type) => {
    const before = base().rejected[reason];
    const res = await sim.sendRaw(body, type);
    expect(res.status).toBe(400);
    expect(res.body.startsWith(`${reason}:`)).toBe(true);
    expect(base().rejected[reason]).toBe(before + 1);
    expect(h.drafts).toHaveLength(0);
    expect(h.logs.some((l) => l.includes(`"reason":"${reason}"`) && l.includes('"level":40'))).toBe(true);
    expect((await sim.send('card-ok')).status).toBe(200);
  });

  it('has still logged no raw card number after all the bad input', () => {
    expect(h.logs.join('')).not.toContain(CARD);
  });

  it('answers 405 to anything but POST/PUT', async () => {
    const res = await fetch(h.url('/isapi/gate-1'));
    expect(res.status).toBe(405);
    expect(base().rejected['bad-method']).toBeGreaterThanOrEqual(1);
  });

  it('answers 404 to a push on a path no device owns, and keeps serving', async () => {
    const stray = createAccessGateSimulator({ target: h.url('/isapi/gate-9'), deviceName: 'unknown' });
    expect((await stray.send('card-ok')).status).toBe(404);
    stray.stop();
    expect((await sim.send('card-ok')).status).toBe(200);
  });

  it('simulates realistic traffic and the driver emits what was sent', async () => {
    const result = await sim.run({ ratePerSecond: 400, count: 45, forcedEvery: 4 });
    expect(result.sent).toBe(45);
    expect(result.failed).toBe(0);
    const byType: Record<string, number> = {};
    for (const d of h.drafts) byType[d.type] = (byType[d.type] ?? 0) + 1;
    expect(byType).toEqual(result.byType);
    expect(result.byType['door.forced']).toBeGreaterThanOrEqual(2);
    expect(result.byType['door.opened']).toBeGreaterThanOrEqual(1);
    expect(new Set(h.drafts.map((d) => d.dedupKey)).size).toBe(45);
  });
});

describe('hikvision-isapi driver: health, limits and options', () => {
  it('is offline until a heartbeat arrives, online after it, offline again when it stops', async () => {
    const h = await harness({ options: { offlineAfterMs: 150 } });
    const sim = createAccessGateSimulator({ target: h.url('/isapi/gate-1'), deviceName: 'g' });
    try {
      expect(h.driver.health()).toEqual({ online: false, state: 'offline', lastSeen: undefined });
      expect((await sim.heartbeat()).status).toBe(200);
      expect(h.driver.health().online).toBe(true);
      expect(h.driver.health().lastSeen).toBeGreaterThan(Date.now() - 1_000);
      expect(h.drafts).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(h.driver.health().online).toBe(false);
      // The XML keep-alive of ISAPI cameras counts too.
      const xml = '<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>';
      expect((await sim.sendRaw(xml, 'application/xml')).status).toBe(200);
      expect(h.driver.health().online).toBe(true);
      expect(h.driver.stats().heartbeats).toBe(2);
    } finally {
      sim.stop();
      await h.server.stop();
    }
  });

  it('refuses an oversize push with 413 (smaller cap) and keeps serving', async () => {
    const h = await harness({ maxBodyBytes: 2048 });
    const sim = createAccessGateSimulator({ target: h.url('/isapi/gate-1'), deviceName: 'g' });
    try {
      expect((await sim.send('face-ok')).status).toBe(413); // multipart with a 4 KiB picture
      expect(h.drafts).toHaveLength(0);
      expect(h.logs.some((l) => l.includes('"reason":"too-large"'))).toBe(true);
      expect((await sim.send('face-ok', { format: 'json' })).status).toBe(200);
      expect(h.drafts).toHaveLength(1);
    } finally {
      sim.stop();
      await h.server.stop();
    }
  });

  it('accepts pushes only from allowFrom addresses, on the configured path', async () => {
    const locked = await harness({ options: { path: '/hik/front', allowFrom: ['10.1.2.3'] } });
    const open = await harness({ options: { path: '/hik/front', allowFrom: ['127.0.0.1', '::1'] } });
    try {
      const a = createAccessGateSimulator({ target: locked.url('/hik/front'), deviceName: 'g' });
      const b = createAccessGateSimulator({ target: open.url('/hik/front'), deviceName: 'g' });
      expect((await a.send('card-ok')).status).toBe(403);
      expect(locked.driver.stats().rejected['forbidden-source']).toBe(1);
      expect(locked.driver.health().online).toBe(false);
      expect((await b.send('card-ok')).status).toBe(200);
      a.stop();
      b.stop();
    } finally {
      await locked.server.stop();
      await open.server.stop();
    }
  });

  it('is registered by name, with options validated by its schema', () => {
    expect(getDriverFactory('hikvision-isapi')).toBe(isapiDriverFactory);
    expect(getDriverFactory('nope')).toBeUndefined();
    expect(isapiDriverFactory.kind).toBe('access-gate');
    expect(isapiDriverFactory.profile).toBe(accessGateProfile);
    expect(isapiDriverFactory.options.parse({})).toEqual({ offlineAfterMs: 90_000, commandTimeoutMs: 5_000, healthPollMs: 30_000 });
    expect(isapiDriverFactory.options.safeParse({ allowFrom: ['not-an-ip'] }).success).toBe(false);
    expect(isapiDriverFactory.options.safeParse({ path: 'no-slash' }).success).toBe(false);
    expect(isapiDriverFactory.options.safeParse({ pth: '/typo' }).success).toBe(false);
    const driver = isapiDriverFactory.create({
      estate: 'e',
      gateway: 'g',
      device: { id: 'd', driver: 'hikvision-isapi', options: {} },
      options: { offlineAfterMs: 1, commandTimeoutMs: 5_000, healthPollMs: 0 },
      log: silentLogger(),
      hash,
      emit: async () => undefined,
      routes: { register: () => undefined, unregister: () => undefined },
    });
    expect(driver.health().online).toBe(false);
  });

  it('parses ISAPI dateTime with its offset', () => {
    expect(parseIsapiTime('2026-11-27T19:00:00+08:00')).toBe(AT);
    expect(parseIsapiTime('2026-11-27T19:00:00+0800')).toBe(AT);
    expect(parseIsapiTime('2026-11-27T11:00:00Z')).toBe(AT);
    expect(parseIsapiTime('2026-11-27T06:00:00.250-05:00')).toBe(AT + 250);
    expect(parseIsapiTime('2026-11-27T24:00:00+08:00')).toBeUndefined();
    expect(parseIsapiTime('2026-11-27 19:00:00+08:00')).toBeUndefined();
  });
});
