import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsapiDriver, IsapiOptions, type IsapiDriver, type IsapiRejectReason } from '../../../devices/access-gate/isapi-driver.js';
import { AnprOptions, createAnprDriver, type AnprDriver, type AnprRejectReason } from '../../../devices/barrier-gate/anpr-driver.js';
import type { DraftEvent, DriverContext } from '../../../devices/types.js';
import { createPushServer, DEFAULT_MAX_BODY_BYTES, type PushServer } from '../../../gateway/push-server.js';
import { createLogger } from '../../../lib/log.js';
import { deepXml, billionLaughsXml, MiB, rawRequest, repeated, xxeXml, type EvilBody, type RawAnswer } from './evil-device.js';
import { LIMITS, measure, printReport, withinLimits } from './measure.js';

/**
 * Evil devices pushing to the gateway: the push listener with the ISAPI and ANPR routes registered
 * (drivers with a fake context, as the driver tests build them). Each hostile request is refused with
 * the right status and counted under the right reason (the listener's own refusals are counted by its
 * warn log line's `reason`, the drivers' in `stats().rejected`), costs less than 20 MiB of RSS and
 * never blocks the event loop for 50 ms; afterwards the driver still takes a good event.
 */
const DEADLINE = 500;
const SLACK = 300;
const ISAPI = '/isapi/gate-1';
const ANPR = '/anpr/barrier-1';

let server: PushServer;
let port: number;
let isapi: IsapiDriver;
let anpr: AnprDriver;
const drafts: DraftEvent[] = [];
/** The listener's refusals, by reason, read from its warn lines. */
const listenerReasons: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

function ctx<O>(options: O, id: string, driver: string, log: DriverContext['log']): DriverContext<O> {
  return {
    estate: 'estate-1',
    gateway: 'gw-1',
    device: { id, driver, options: {} },
    options,
    log,
    hash: (v) => `h:${v.length}`,
    emit: async (d) => void drafts.push(d),
    routes: server.routes,
  };
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.includes('push request rejected')) continue;
        const reason = (JSON.parse(line) as { reason?: string }).reason;
        if (reason) listenerReasons.push(reason);
      }
      cb();
    },
  });
  const log = createLogger({ name: 'hostile', level: 'warn', destination: sink });
  server = createPushServer({ host: '127.0.0.1', port: 0, requestTimeoutMs: DEADLINE, log });
  isapi = createIsapiDriver(ctx(IsapiOptions.parse({}), 'gate-1', 'hikvision-isapi', log));
  anpr = createAnprDriver(ctx(AnprOptions.parse({}), 'barrier-1', 'hikvision-anpr', log));
  await isapi.start();
  await anpr.start();
  await server.start();
  port = server.address().port;
  // Warm up both paths (JIT, first allocations) so the first case does not pay for them.
  await goodEvents();
});

afterAll(async () => {
  await isapi?.stop();
  await anpr?.stop();
  await server?.stop();
  process.off('unhandledRejection', onUnhandled);
  printReport('inbound: evil device → gateway push listener (ms, MiB, MiB, ms)');
  expect(unhandled).toEqual([]);
});

// Good events, to show each driver still works after every attack.
let serial = 1;
const isapiEvent = (): string =>
  JSON.stringify({
    dateTime: '2026-11-27T19:00:00+08:00',
    eventType: 'AccessControllerEvent',
    AccessControllerEvent: { majorEventType: 5, subEventType: 1, serialNo: serial++, cardNo: '0098761234', doorNo: 1 },
  });
const anprAlert = (): string =>
  '<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
  `<dateTime>2026-11-27T19:00:00+08:00</dateTime><eventType>ANPR</eventType><channelID>1</channelID><UUID>uuid-${serial++}</UUID>` +
  '<ANPR><licensePlate>京A12345</licensePlate><line>1</line><direction>forward</direction><confidenceLevel>90</confidenceLevel>' +
  '<vehicleListName>allowList</vehicleListName></ANPR></EventNotificationAlert>';

function post(path: string, body: string, contentType: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': contentType } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function goodEvents(): Promise<void> {
  const before = drafts.length;
  expect((await post(ISAPI, isapiEvent(), 'application/json')).status).toBe(200);
  expect((await post(ANPR, anprAlert(), 'application/xml')).status).toBe(200);
  expect(drafts.slice(before).map((d) => d.type)).toEqual(['access.granted', 'vehicle.entered']);
}

const head = (path: string, contentType: string, length?: number): string =>
  `POST ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nContent-Type: ${contentType}\r\n` +
  (length === undefined ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`) +
  '\r\n';

/** Chunked transfer coding around a stream of chunks (so no length is declared). */
function* chunked(chunks: Iterable<Buffer>): Generator<Buffer> {
  for (const c of chunks) {
    yield Buffer.from(`${c.length.toString(16)}\r\n`);
    yield c;
    yield Buffer.from('\r\n');
  }
  yield Buffer.from('0\r\n\r\n');
}

interface Expect {
  status: number;
  /** Who counts it: the listener (log reason) or a driver (stats().rejected). */
  counted: { listener: string } | { isapi: IsapiRejectReason } | { anpr: AnprRejectReason };
  maxMs: number;
  minMs?: number;
  /** Largest number of body bytes the evil device may get through before it is cut. */
  maxSent?: number;
}

async function attack(name: string, path: string, headText: string, body: EvilBody, e: Expect): Promise<RawAnswer> {
  const reasons = listenerReasons.length;
  const isapiBefore = isapi.stats().rejected;
  const anprBefore = anpr.stats().rejected;
  const count = drafts.length;
  const { value, cost } = await measure(`${path.split('/')[1]}: ${name}`, () => rawRequest(port, headText, body));
  const answer = value as RawAnswer;
  expect(answer.status, answer.text.slice(0, 200)).toBe(e.status);
  expect(answer.ms).toBeLessThanOrEqual(e.maxMs);
  if (e.minMs !== undefined) expect(answer.ms).toBeGreaterThanOrEqual(e.minMs);
  if (e.maxSent !== undefined) {
    console.log(`${path} ${name}: the device got ${(answer.sent / MiB).toFixed(1)} MiB through before the cut`);
    expect(answer.sent).toBeLessThanOrEqual(e.maxSent);
  }
  if ('listener' in e.counted) {
    // One refusal; Node may report the connection it then cuts as a second client error.
    const want = e.counted.listener;
    const seen = listenerReasons.slice(reasons);
    expect(seen[0]).toBe(want);
    expect(seen.every((r) => r === want || r === 'client-error')).toBe(true);
  } else expect(listenerReasons.slice(reasons)).toEqual([]);
  if ('isapi' in e.counted) expect(isapi.stats().rejected[e.counted.isapi]).toBe(isapiBefore[e.counted.isapi] + 1);
  if ('anpr' in e.counted) expect(anpr.stats().rejected[e.counted.anpr]).toBe(anprBefore[e.counted.anpr] + 1);
  expect(drafts.length).toBe(count); // nothing from the attack reached the gateway
  expect(withinLimits(cost), JSON.stringify(cost)).toEqual({ rss: true, peak: true, block: true });
  expect(cost.rssGrowthMiB).toBeLessThan(LIMITS.rssMiB);
  expect(cost.maxBlockMs).toBeLessThan(LIMITS.blockMs);
  await goodEvents();
  return answer;
}

const JSON_CT = 'application/json';
const XML_CT = 'application/xml';
const BIG = 200 * MiB;
/** The cap plus what the kernel's socket buffers and one read can hold past it. */
const CUT = DEFAULT_MAX_BODY_BYTES + 16 * MiB;

describe.each([
  { route: ISAPI, label: 'ISAPI' },
  { route: ANPR, label: 'ANPR' },
])('$label push route against an evil device', ({ route }) => {
  it('one byte a second: cut at the total deadline with 408', async () => {
    const body = isapiEvent();
    await attack('one byte a second', route, head(route, JSON_CT, body.length), { kind: 'trickle', data: body, intervalMs: 1000 }, {
      status: 408,
      counted: { listener: 'timeout' },
      minMs: DEADLINE - 20,
      maxMs: DEADLINE + SLACK,
    });
  });

  it('one byte every 50 ms (never idle): still cut at the total deadline with 408', async () => {
    const body = isapiEvent();
    await attack('one byte every 50 ms', route, head(route, JSON_CT, body.length), { kind: 'trickle', data: body, intervalMs: 50 }, {
      status: 408,
      counted: { listener: 'timeout' },
      minMs: DEADLINE - 20,
      maxMs: DEADLINE + SLACK,
    });
  });

  it('headers one byte every 50 ms: cut by the listener’s header deadline', async () => {
    const text = head(route, JSON_CT, 2);
    const a = await attack('headers one byte every 50 ms', route, '', { kind: 'trickle', data: text, intervalMs: 50 }, {
      status: 408,
      counted: { listener: 'client-error' },
      // headersTimeout is the deadline; Node checks it every connectionsCheckingInterval (= deadline).
      maxMs: 2 * DEADLINE + SLACK,
    });
    expect(a.sent).toBeLessThan(text.length);
  });

  it('200 MiB body with Content-Length: 413 on the header, connection closed, body never read', async () => {
    const a = await attack('200 MiB body (Content-Length)', route, head(route, JSON_CT, BIG), { kind: 'stream', chunks: repeated(BIG) }, {
      status: 413,
      counted: { listener: 'too-large' },
      maxMs: 1_000 + SLACK, // at most the listener's 1 s linger after the answer
      maxSent: CUT,
    });
    expect(a.text).toMatch(/connection: close/i);
  });

  it('200 MiB chunked body: 413 once the streamed bytes pass the cap, connection closed early', async () => {
    await attack('200 MiB body (chunked)', route, head(route, JSON_CT), { kind: 'stream', chunks: chunked(repeated(BIG)) }, {
      status: 413,
      counted: { listener: 'too-large' },
      maxMs: 1_000 + SLACK,
      maxSent: CUT,
    });
  });

  it('multipart with an endless part: 413 at the cap', async () => {
    const boundary = 'evilboundary';
    const start = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n`);
    function* endless(): Generator<Buffer> {
      yield start;
      yield* repeated(BIG, 'A');
    }
    await attack('multipart, endless part', route, head(route, `multipart/form-data; boundary=${boundary}`), { kind: 'stream', chunks: chunked(endless()) }, {
      status: 413,
      counted: { listener: 'too-large' },
      maxMs: 1_000 + SLACK,
      maxSent: CUT,
    });
  });
});

describe('ISAPI push route against hostile documents', () => {
  const send = (name: string, body: Buffer | string, contentType: string, e: Omit<Expect, 'maxMs'>) => {
    const data = Buffer.from(body);
    return attack(name, ISAPI, head(ISAPI, contentType, data.length), { kind: 'bytes', data }, { maxMs: 250, ...e });
  };

  it('100k-deep JSON object (600 KB): refused as too large before parsing', () =>
    send('100k-deep JSON object', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, JSON_CT, { status: 400, counted: { isapi: 'too-large' } }));

  it('100k-deep JSON array (200 KB): refused as too large before parsing', () =>
    send('100k-deep JSON array', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, JSON_CT, { status: 400, counted: { isapi: 'too-large' } }));

  it('10k-deep JSON inside the 64 KiB event cap: parsed, refused as not an event', () =>
    send('10k-deep JSON object (60 KB)', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, JSON_CT, { status: 400, counted: { isapi: 'missing-event' } }));

  it('100k-deep XML (700 KB): refused as too large before parsing', () =>
    send('100k-deep XML', Buffer.concat([...deepXml(100_000)]), XML_CT, { status: 400, counted: { isapi: 'too-large' } }));

  it('9k-deep XML inside the event cap: refused by the depth limit', () =>
    send('9k-deep XML (63 KB)', Buffer.concat([...deepXml(9_000)]), XML_CT, { status: 400, counted: { isapi: 'invalid-xml' } }));

  const alert = (inner: string): string =>
    '<EventNotificationAlert><dateTime>2026-11-27T19:00:00+08:00</dateTime><eventType>AccessControllerEvent</eventType>' +
    `<AccessControllerEvent><majorEventType>5</majorEventType><subEventType>1</subEventType><cardNo>${inner}</cardNo></AccessControllerEvent></EventNotificationAlert>`;

  it('XXE inside an otherwise valid event: refused, nothing expanded', () =>
    send('XXE event', `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${alert('&xxe;')}`, XML_CT, {
      status: 400,
      counted: { isapi: 'invalid-xml' },
    }));

  it('billion laughs inside an otherwise valid event: refused, nothing expanded', () =>
    send('billion laughs event', billionLaughsXml('ResponseStatus').replace(/<ResponseStatus[\s\S]*$/, alert('&lol9;')), XML_CT, {
      status: 400,
      counted: { isapi: 'invalid-xml' },
    }));

  it('a 2 MB single text node (just under the body cap): refused as too large before parsing', () =>
    send('2 MB text node', alert('A'.repeat(DEFAULT_MAX_BODY_BYTES - 400)), XML_CT, { status: 400, counted: { isapi: 'too-large' } }));

  it('a 60 KB single text node inside the event cap: parsed, card hashed, event accepted', async () => {
    const before = drafts.length;
    const res = await post(ISAPI, alert('1'.repeat(60_000)), XML_CT);
    expect(res.status).toBe(200);
    expect(drafts.slice(before).map((d) => d.type)).toEqual(['access.granted']);
  });

  it('multipart whose part never ends (inside the cap): bad multipart', () => {
    const b = 'evilboundary';
    const body = `--${b}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${'A'.repeat(1_500_000)}`;
    return send('multipart, unterminated 1.5 MB part', body, `multipart/form-data; boundary=${b}`, { status: 400, counted: { isapi: 'bad-multipart' } });
  });
});

describe('ANPR push route against hostile documents', () => {
  const send = (name: string, body: Buffer | string, contentType: string, e: Omit<Expect, 'maxMs'>) => {
    const data = Buffer.from(body);
    return attack(name, ANPR, head(ANPR, contentType, data.length), { kind: 'bytes', data }, { maxMs: 250, ...e });
  };

  it('100k-deep XML (700 KB): refused as too large before parsing', () =>
    send('100k-deep XML', Buffer.concat([...deepXml(100_000)]), XML_CT, { status: 400, counted: { anpr: 'too-large' } }));

  it('9k-deep XML inside the 64 KiB XML cap: refused by the depth limit', () =>
    send('9k-deep XML (63 KB)', Buffer.concat([...deepXml(9_000)]), XML_CT, { status: 400, counted: { anpr: 'invalid-xml' } }));

  it('100k-deep JSON (600 KB): refused as too large before parsing', () =>
    send('100k-deep JSON', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, JSON_CT, { status: 400, counted: { anpr: 'too-large' } }));

  it('XXE alert: refused whole', () =>
    send('XXE alert', xxeXml('ResponseStatus').replace(/<ResponseStatus[\s\S]*$/, anprAlert().replace('京A12345', '&xxe;').replace(/^<\?xml[^>]*>/, '')), XML_CT, {
      status: 400,
      counted: { anpr: 'doctype' },
    }));

  it('billion laughs alert: refused whole', () =>
    send('billion laughs alert', billionLaughsXml('ResponseStatus').replace(/<ResponseStatus[\s\S]*$/, anprAlert().replace(/^<\?xml[^>]*>/, '')), XML_CT, {
      status: 400,
      counted: { anpr: 'doctype' },
    }));

  it('a 60 KB single text node inside the XML cap (as the UUID): parsed, then refused', () =>
    send('60 KB text node', anprAlert().replace(/<UUID>[^<]*<\/UUID>/, `<UUID>${'A'.repeat(60_000)}</UUID>`), XML_CT, {
      status: 400,
      counted: { anpr: 'bad-field' },
    }));

  it('multipart with an XML part of 2 MB: refused as too large', () => {
    const b = 'evilboundary';
    const body = `--${b}\r\nContent-Disposition: form-data; name="anpr.xml"\r\nContent-Type: text/xml\r\n\r\n${'<a>'.repeat(600_000)}\r\n--${b}--\r\n`;
    return send('multipart, 1.8 MB XML part', body, `multipart/form-data; boundary=${b}`, { status: 400, counted: { anpr: 'too-large' } });
  });
});
