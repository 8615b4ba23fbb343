import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsapiDriver, IsapiOptions, type IsapiDriver } from '../../../devices/access-gate/isapi-driver.js';
import { AnprOptions, createAnprDriver, type AnprDriver } from '../../../devices/barrier-gate/anpr-driver.js';
import { deviceRequest, DeviceRequestError } from '../../../devices/http-digest.js';
import { OnvifOptions } from '../../../devices/onvif-camera/options.js';
import { OnvifSession } from '../../../devices/onvif-camera/session.js';
import { OnvifError } from '../../../devices/onvif-camera/soap-client.js';
import { DeviceCommandError, type DriverCommand, type DriverContext } from '../../../devices/types.js';
import { silentLogger } from '../../../lib/log.js';
import type { CommandName } from '../../../protocol/index.js';
import { MiB, startEvilDevice, type EvilDevice, type EvilMode } from './evil-device.js';
import { LIMITS, measure, printReport, withinLimits } from './measure.js';

/**
 * The gateway calling an evil device: deviceRequest itself, the ISAPI door command, the ANPR barrier
 * command and ONVIF SOAP calls (GetSystemDateAndTime, GetProfiles) through the driver's SOAP client.
 * Deadlines are short (500 ms) so a one-byte-a-second device costs half a second, not minutes: the
 * fault is real, the wait is short. Each case must fail within its deadline plus a small slack, with a
 * clear error, growing RSS by less than 20 MiB and never blocking the event loop for 50 ms.
 */
const DEADLINE = 500;
/** Timer granularity, connection teardown, a loaded CI box. */
const SLACK = 300;
/** What "at once" means for a refusal that needs no waiting (a declared size, a parse error). */
const FAST = 250;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

let device: EvilDevice;
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  device = await startEvilDevice();
});
afterAll(async () => {
  await device?.stop();
  process.off('unhandledRejection', onUnhandled);
  printReport('outbound: gateway → evil device (ms, MiB, MiB, ms)');
  expect(unhandled).toEqual([]);
});

/** What a target failed with, as one comparable string: "<kind or code>: <message>". */
function describeError(err: unknown): string {
  if (err instanceof DeviceRequestError) return `${err.kind}: ${err.message}`;
  if (err instanceof DeviceCommandError) return `${err.code}: ${err.message}`;
  if (err instanceof OnvifError) return `${err.kind}: ${err.message}`;
  return `unexpected ${String(err)}`;
}

interface Case {
  name: string;
  mode: EvilMode;
  /** Matched against describeError(); `ok` when the call may succeed (a harmless answer within the caps). */
  expected: RegExp | 'ok';
  /** Upper bound on the wall time of the call. */
  maxMs: number;
  /** Lower bound (deadline cases must not fail early for another reason). */
  minMs?: number;
}

async function runCase(target: string, c: Case, call: () => Promise<unknown>): Promise<void> {
  device.mode = c.mode;
  const { error, cost } = await measure(`${target}: ${c.name}`, call);
  if (c.expected === 'ok') expect(error, describeError(error)).toBeUndefined();
  else expect(describeError(error)).toMatch(c.expected);
  expect(cost.ms).toBeLessThanOrEqual(c.maxMs);
  if (c.minMs !== undefined) expect(cost.ms).toBeGreaterThanOrEqual(c.minMs);
  const blockLimit = LIMITS.blockMs;
  expect({ ...withinLimits(cost), block: cost.maxBlockMs < blockLimit }, JSON.stringify(cost)).toEqual({ rss: true, peak: true, block: true });
}

const timeoutCases = (timeout: RegExp): Case[] => [
  { name: 'headers one byte a second', mode: { kind: 'trickle-headers' }, expected: timeout, minMs: DEADLINE - 20, maxMs: DEADLINE + SLACK },
  { name: 'body one byte a second', mode: { kind: 'trickle-body' }, expected: timeout, minMs: DEADLINE - 20, maxMs: DEADLINE + SLACK },
  // Bytes every 50 ms: an idle timeout would never fire, only the total deadline does.
  { name: 'body one byte every 50 ms', mode: { kind: 'trickle-body', intervalMs: 50 }, expected: timeout, minMs: DEADLINE - 20, maxMs: DEADLINE + SLACK },
  { name: 'hangs forever after headers', mode: { kind: 'hang' }, expected: timeout, minMs: DEADLINE - 20, maxMs: DEADLINE + SLACK },
];

describe('deviceRequest against an evil device', () => {
  const get = (maxResponseBytes?: number) => () =>
    deviceRequest({ method: 'GET', url: `${device.url}/x`, deadlineMs: DEADLINE, maxResponseBytes });
  const timeout = /^timeout: 127\.0\.0\.1:\d+ did not answer within 500 ms$/;
  const tooLarge = (max: number): RegExp => new RegExp(`^too-large: answer from 127\\.0\\.0\\.1:\\d+ larger than ${max} bytes; aborted$`);

  for (const c of timeoutCases(timeout)) it(c.name, () => runCase('deviceRequest', c, get()));

  it('200 MiB body, declared: refused on the header, before reading it', async () => {
    await runCase('deviceRequest', { name: '200 MiB body (Content-Length)', mode: { kind: 'huge-body' }, expected: tooLarge(MiB), maxMs: FAST }, get());
    expect(device.written()).toBeLessThan(16 * MiB);
  });

  it('200 MiB body, chunked: cut once the streamed bytes pass the cap', async () => {
    const mode: EvilMode = { kind: 'huge-body', declareLength: false };
    await runCase('deviceRequest', { name: '200 MiB body (chunked)', mode, expected: tooLarge(MiB), maxMs: FAST }, get());
    // The device was cut early: it could not push more than the cap plus socket buffers.
    expect(device.written()).toBeLessThan(16 * MiB);
  });

  it('100k-deep XML (700 KB, streamed) is cut at a 64 KiB cap', () =>
    runCase('deviceRequest', { name: '100k-deep XML, 64 KiB cap', mode: { kind: 'deep-xml' }, expected: tooLarge(64 * 1024), maxMs: FAST }, get(64 * 1024)));

  it('200 MiB single XML text node is cut at the cap', () =>
    runCase(
      'deviceRequest',
      { name: '200 MiB text node', mode: { kind: 'huge-text', bytes: 200 * MiB, root: 'ResponseStatus', declareLength: false }, expected: tooLarge(MiB), maxMs: FAST },
      get(),
    ));

  it('XXE answer: the transport hands back the bytes untouched (parsing is the caller’s, see below)', async () => {
    device.mode = { kind: 'xxe', root: 'ResponseStatus' };
    const res = await deviceRequest({ method: 'GET', url: `${device.url}/x`, deadlineMs: DEADLINE });
    expect(res.body.toString()).toContain('<!ENTITY xxe SYSTEM "file:///etc/passwd">');
    expect(res.body.toString()).not.toContain('root:');
  });
});

const command = (name: CommandName, args: Record<string, unknown>): DriverCommand => ({
  id: 'cmd-1',
  name,
  args,
  signal: new AbortController().signal,
});

function ctx<O>(options: O, id: string, driver: string): DriverContext<O> {
  return {
    estate: 'estate-1',
    gateway: 'gw-1',
    device: { id, driver, options: {} },
    options,
    log: silentLogger(),
    hash: (v) => v,
    emit: async () => undefined,
    routes: { register: () => undefined, unregister: () => undefined },
  };
}

/** The cases every ISAPI-style command (ResponseStatus answer, 64 KiB cap) must survive. */
function isapiCases(who: 'device' | 'camera'): Case[] {
  const tooLarge = new RegExp(`^RB_ERR_DEVICE_FAILED: ${who} request failed: answer from 127\\.0\\.0\\.1:\\d+ larger than 65536 bytes; aborted$`);
  const noStatus = new RegExp(`^RB_ERR_DEVICE_FAILED: ${who} answered HTTP 200 without an ISAPI ResponseStatus$`);
  return [
    ...timeoutCases(new RegExp(`^RB_ERR_DEVICE_TIMEOUT: ${who} did not answer within 500 ms; it may still have acted$`)),
    { name: '200 MiB body (Content-Length)', mode: { kind: 'huge-body' }, expected: tooLarge, maxMs: FAST },
    { name: '200 MiB body (chunked)', mode: { kind: 'huge-body', declareLength: false }, expected: tooLarge, maxMs: FAST },
    { name: '100k-deep XML (streamed)', mode: { kind: 'deep-xml' }, expected: tooLarge, maxMs: FAST },
    // Deep but inside the byte cap: the parser's depth limit refuses it.
    { name: '9k-deep XML inside the cap', mode: { kind: 'deep-xml', depth: 9_000 }, expected: noStatus, maxMs: FAST },
    { name: '200 MiB text node (chunked)', mode: { kind: 'huge-text', bytes: 200 * MiB, root: 'ResponseStatus', declareLength: false }, expected: tooLarge, maxMs: FAST },
    // A ResponseStatus "OK" with a 60 KB statusString is a plausible answer: it may pass, but fast.
    { name: '60 KB text node inside the cap', mode: { kind: 'huge-text', bytes: 60_000, root: 'ResponseStatus' }, expected: 'ok', maxMs: FAST },
    // A DTD in a device answer is refused whole, even when the rest says "OK".
    { name: 'XXE (external entity, statusCode 1)', mode: { kind: 'xxe', root: 'ResponseStatus' }, expected: noStatus, maxMs: FAST },
    { name: 'billion laughs (statusCode 1)', mode: { kind: 'billion-laughs', root: 'ResponseStatus' }, expected: noStatus, maxMs: FAST },
  ];
}

describe('ISAPI door command against an evil access controller', () => {
  let driver: IsapiDriver;
  beforeAll(() => {
    const options = IsapiOptions.parse({ address: device.url, username: 'admin', password: 'pw', commandTimeoutMs: DEADLINE });
    driver = createIsapiDriver(ctx(options, 'gate-1', 'hikvision-isapi'));
  });
  for (const c of isapiCases('device')) it(c.name, () => runCase('isapi door.open', c, () => driver.execute(command('door.open', { door: 1 }))));
});

describe('ANPR barrier command against an evil camera', () => {
  let driver: AnprDriver;
  beforeAll(() => {
    const options = AnprOptions.parse({ address: device.url, username: 'admin', password: 'pw', commandTimeoutMs: DEADLINE });
    driver = createAnprDriver(ctx(options, 'barrier-1', 'hikvision-anpr'));
  });
  for (const c of isapiCases('camera')) it(c.name, () => runCase('anpr barrier.open', c, () => driver.execute(command('barrier.open', { lane: 1 }))));
});

describe('ONVIF SOAP calls against an evil camera', () => {
  const options = (): OnvifOptions => OnvifOptions.parse({ address: `${device.url}/onvif/device_service`, username: 'admin', password: 'pw', requestTimeoutMs: DEADLINE });
  const ops = {
    GetSystemDateAndTime: () => new OnvifSession(options()).syncClock(),
    GetProfiles: () => {
      const s = new OnvifSession(options());
      s.xaddr.media = `${device.url}/onvif/media_service`;
      return s.loadProfile();
    },
  };
  const cap = 65_536; // OnvifOptions.maxResponseBytes default
  const tooLarge = (op: string): RegExp => new RegExp(`^too-large: ${op}: answer from 127\\.0\\.0\\.1:\\d+ larger than ${cap} bytes; aborted$`);
  for (const [op, call] of Object.entries(ops)) {
    const cases: Case[] = [
      ...timeoutCases(new RegExp(`^timeout: ${op}: 127\\.0\\.0\\.1:\\d+ did not answer within 500 ms$`)),
      { name: '200 MiB body (Content-Length)', mode: { kind: 'huge-body' }, expected: tooLarge(op), maxMs: FAST },
      { name: '200 MiB body (chunked)', mode: { kind: 'huge-body', declareLength: false }, expected: tooLarge(op), maxMs: FAST },
      { name: '100k-deep XML (streamed)', mode: { kind: 'deep-xml', contentType: 'application/soap+xml' }, expected: tooLarge(op), maxMs: FAST },
      {
        name: '8k-deep XML inside the cap',
        mode: { kind: 'deep-xml', depth: 8_000, contentType: 'application/soap+xml' },
        expected: new RegExp(`^bad-xml: ${op}: malformed XML \\(.*nest`, 'i'),
        maxMs: FAST,
      },
      { name: '200 MiB text node (chunked)', mode: { kind: 'huge-text', bytes: 200 * MiB, root: 'Envelope', declareLength: false }, expected: tooLarge(op), maxMs: FAST },
      {
        name: '60 KB text node inside the cap',
        mode: { kind: 'huge-text', bytes: 60_000, root: 'Envelope' },
        expected: op === 'GetProfiles' ? /^bad-xml: GetProfiles: no profile$/ : /^bad-xml: GetSystemDateAndTime: no valid UTCDateTime$/,
        maxMs: FAST,
      },
      { name: 'XXE (external entity)', mode: { kind: 'xxe', root: 'Envelope' }, expected: new RegExp(`^bad-xml: ${op}: DOCTYPE/ENTITY declarations are refused$`), maxMs: FAST },
      { name: 'billion laughs', mode: { kind: 'billion-laughs', root: 'Envelope' }, expected: new RegExp(`^bad-xml: ${op}: DOCTYPE/ENTITY declarations are refused$`), maxMs: FAST },
    ];
    for (const c of cases) it(`${op}: ${c.name}`, () => runCase(`onvif ${op}`, c, call));
  }
});
