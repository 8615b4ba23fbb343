import { Agent, request } from 'node:http';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { EventType } from '../../protocol/index.js';
import { postUntilAccepted, type RepostOptions } from '../sim/repost.js';
import { startDeviceServer, type DeviceListenOptions, type DeviceServer, type DeviceState, type DoorExecution } from './simulator-device.js';
import { runTraffic, type RunOptions, type RunResult } from './simulator-traffic.js';

export type { DeviceListenOptions, DoorExecution, RunOptions, RunResult };

/**
 * A Hikvision access controller / face terminal in ISAPI "HTTP listening" mode, on the wire: it POSTs
 * `EventNotificationAlert` JSON with an `AccessControllerEvent` to the gateway, by default as
 * multipart/form-data (`boundary=MIME_boundary`, event JSON in the `event_log` part, a face picture in
 * a `Picture` part) like real firmware, and waits for each answer before the next post.
 * Field names and shapes follow payloads captured from real terminals (card numbers are strings and
 * keep their leading zeros; a one-door face terminal sends no `doorNo`).
 * With `listen()` it also serves ISAPI remote door control, as the real device does on its own port.
 */
export type SimKind =
  | 'card-ok'
  | 'card-unknown'
  | 'face-ok'
  | 'face-fail'
  | 'door-open'
  | 'door-close'
  | 'forced'
  | 'held'
  | 'tamper';

/** What each simulated kind is on the device (major, minor per isapi-codes.ts) and becomes for us. */
export const SIM_KINDS: Readonly<Record<SimKind, { major: number; minor: number; type: EventType }>> = {
  'card-ok': { major: 5, minor: 0x01, type: 'access.granted' }, // MINOR_LEGAL_CARD_PASS
  'card-unknown': { major: 5, minor: 0x09, type: 'access.denied' }, // MINOR_INVALID_CARD
  'face-ok': { major: 5, minor: 0x4b, type: 'access.granted' }, // MINOR_FACE_VERIFY_PASS
  'face-fail': { major: 5, minor: 0x4c, type: 'access.denied' }, // MINOR_FACE_VERIFY_FAIL
  'door-open': { major: 5, minor: 0x19, type: 'door.opened' }, // MINOR_DOOR_OPEN_NORMAL
  'door-close': { major: 5, minor: 0x1a, type: 'door.closed' }, // MINOR_DOOR_CLOSE_NORMAL
  forced: { major: 5, minor: 0x1b, type: 'door.forced' }, // MINOR_DOOR_OPEN_ABNORMAL
  held: { major: 5, minor: 0x1c, type: 'door.held' }, // MINOR_DOOR_OPEN_TIMEOUT
  tamper: { major: 1, minor: 0x404, type: 'device.tamper' }, // MINOR_HOST_DESMANTLE_ALARM
};

export interface AccessGateSimulatorOptions {
  /** Full URL to POST to, e.g. http://127.0.0.1:8091/isapi/gate-1 */
  target: string;
  deviceName: string;
  ipAddress?: string;
  macAddress?: string;
  /** Doors on the controller (default 1: a face terminal). */
  doors?: number;
  log?: Logger;
  format?: 'json' | 'multipart';
  /** Source of randomness in [0, 1), for reproducible traffic. */
  random?: () => number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

export interface SendOptions {
  door?: number;
  reader?: number;
  cardNo?: string;
  employeeNo?: string;
  name?: string;
  /** Re-send with this serial (a device retrying); the simulator's counter does not move. */
  serialNo?: number;
  at?: Date | number;
  format?: 'json' | 'multipart';
  /** Attach a picture part (multipart only). Default: on for face events. */
  picture?: boolean;
  /** Re-post the same event (same serialNo, time and body) until the gateway answers 200 (sim/repost.ts). */
  retry?: RepostOptions;
}

export type IsapiEventJson = Record<string, unknown> & {
  dateTime: string;
  AccessControllerEvent: Record<string, unknown> & { serialNo: number; majorEventType: number; subEventType: number };
};

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface SentEvent extends HttpAnswer {
  kind: SimKind;
  serialNo: number;
  json: IsapiEventJson;
}

export interface AccessGateSimulator {
  send(kind: SimKind, opts?: SendOptions): Promise<SentEvent>;
  /** The keep-alive a terminal sends when idle. */
  heartbeat(): Promise<HttpAnswer>;
  sendRaw(body: string | Buffer, contentType: string): Promise<HttpAnswer>;
  run(opts: RunOptions): Promise<RunResult>;
  /**
   * Start the device's own HTTP server: ISAPI remote door control behind Digest auth
   * (simulator-device.ts). Resolves with its base URL, the driver's `address`.
   */
  listen(opts: DeviceListenOptions): Promise<string>;
  /** Base URL of the device server; throws before `listen`. */
  address(): string;
  /** Door commands the device carried out, oldest first. */
  executions(): DoorExecution[];
  /** Answer the next n door commands with an error ResponseStatus (statusCode 4, Invalid Operation). */
  failNext(n: number): void;
  /** Take this long before answering each door command. */
  setDelay(ms: number): void;
  /** Close the device server and wait for the door.opened pushes it started. */
  close(): Promise<void>;
  /** Stop traffic and pushes, and close the device server. */
  stop(): void;
  /** The last serial number used. */
  readonly serialNo: number;
}

const BOUNDARY = 'MIME_boundary';
const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄强', '周婷', '吴刚'];

/** ISAPI time: local wall-clock time of a device set to China Standard Time, with its offset. */
export function isapiDateTime(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

export function createAccessGateSimulator(opts: AccessGateSimulatorOptions): AccessGateSimulator {
  const url = new URL(opts.target);
  const random = opts.random ?? Math.random;
  const log = opts.log ?? silentLogger();
  const doors = Math.max(1, opts.doors ?? 1);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const halt = new AbortController();
  let serial = 0;

  const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  // Registered residents: the same person shows the same card and employee number every visit.
  const residents = Array.from({ length: 12 }, (_, i) => ({
    cardNo: `00${digits(8)}`,
    employeeNo: String(1001 + i),
    name: NAMES[i % NAMES.length] ?? 'resident',
  }));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

  function build(kind: SimKind, o: SendOptions, serialNo: number): IsapiEventJson {
    const { major, minor } = SIM_KINDS[kind];
    const ms = o.at === undefined ? Date.now() : typeof o.at === 'number' ? o.at : o.at.getTime();
    const door = o.door ?? 1 + Math.floor(random() * doors);
    const who = pick(residents);
    const ace: Record<string, unknown> = { deviceName: opts.deviceName, majorEventType: major, subEventType: minor };
    const isAccess = kind.startsWith('card') || kind.startsWith('face');
    if (isAccess) {
      const known = kind === 'card-ok' || kind === 'face-ok';
      if (kind.startsWith('card')) {
        Object.assign(ace, { cardNo: o.cardNo ?? (known ? who.cardNo : `09${digits(8)}`), cardType: 1 });
      }
      if (known) Object.assign(ace, { name: o.name ?? who.name, employeeNoString: o.employeeNo ?? who.employeeNo });
      Object.assign(ace, { cardReaderKind: 1, cardReaderNo: o.reader ?? 1, verifyNo: Math.floor(random() * 200) });
      if (doors > 1 || o.door !== undefined) ace.doorNo = door;
      Object.assign(ace, { userType: 'normal', currentVerifyMode: 'cardOrFace', attendanceStatus: 'undefined' });
      Object.assign(ace, { label: '', statusValue: 0, mask: 'no', purePwdVerifyEnable: true });
    } else if (kind !== 'tamper') {
      ace.doorNo = door;
    }
    Object.assign(ace, { serialNo, currentEvent: true, frontSerialNo: Math.max(0, serialNo - 1) });
    return {
      ipAddress: opts.ipAddress ?? '192.168.1.64',
      portNo: 80,
      protocol: 'HTTP',
      macAddress: opts.macAddress ?? 'a4:d5:c2:00:00:01',
      channelID: 1,
      dateTime: isapiDateTime(ms),
      activePostCount: 1,
      eventType: 'AccessControllerEvent',
      eventState: 'active',
      eventDescription: 'Access Controller Event',
      AccessControllerEvent: ace as IsapiEventJson['AccessControllerEvent'],
    };
  }

  /** A stand-in JPEG (SOI ... EOI) of a few KiB, as big as a terminal's face snapshot thumbnail. */
  function picture(): Buffer {
    const bytes = Buffer.alloc(4096, 0);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
    bytes.set([0xff, 0xd9], bytes.length - 2);
    return bytes;
  }

  function multipart(json: string, pic: Buffer | undefined): Buffer {
    const head = (disposition: string, type: string, len: number): Buffer =>
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; ${disposition}\r\n` +
          `Content-Type: ${type}\r\nContent-Length: ${len}\r\n\r\n`,
      );
    const event = Buffer.from(json);
    const chunks: Buffer[] = [head('name="event_log"', 'application/json', event.length), event, Buffer.from('\r\n')];
    if (pic) {
      chunks.push(head('name="Picture"; filename="Picture.jpg"', 'image/jpeg', pic.length), pic, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
    return Buffer.concat(chunks);
  }

  function post(body: Buffer, contentType: string, retried = false): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          timeout: opts.timeoutMs ?? 10_000,
          headers: { 'content-type': contentType, 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} in time`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed meanwhile: post once more on a fresh one (Node http docs).
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') {
          post(body, contentType, true).then(resolve, reject);
        } else reject(err);
      });
      req.end(body);
    });
  }

  async function send(kind: SimKind, o: SendOptions = {}): Promise<SentEvent> {
    const serialNo = o.serialNo ?? ++serial;
    const json = build(kind, o, serialNo);
    const format = o.format ?? opts.format ?? 'multipart';
    const withPicture = format === 'multipart' && (o.picture ?? kind.startsWith('face'));
    if (withPicture) json.AccessControllerEvent.picturesNumber = 1;
    const text = JSON.stringify(json);
    const [body, contentType] =
      format === 'json'
        ? [Buffer.from(text), 'application/json; charset="UTF-8"']
        : [multipart(text, withPicture ? picture() : undefined), `multipart/form-data; boundary=${BOUNDARY}`];
    const answer = o.retry ? await postUntilAccepted(() => post(body, contentType), (a) => a.status === 200, o.retry) : await post(body, contentType);
    log.debug({ kind, serialNo, status: answer.status }, 'simulated isapi event posted');
    return { kind, serialNo, json, ...answer };
  }

  const device: DeviceState = { executions: [], failNext: 0, delayMs: 0 };
  const pushes = new Set<Promise<unknown>>();
  let server: DeviceServer | undefined;

  async function listen(o: DeviceListenOptions): Promise<string> {
    if (server) throw new Error('the device server is already listening');
    const pushOnOpen = o.pushOnOpen ?? true;
    server = await startDeviceServer({
      ...o,
      doors,
      state: device,
      log,
      onExecuted({ door, cmd }) {
        if (!pushOnOpen || cmd !== 'open' || halt.signal.aborted) return;
        // The lock releases and the door contact reports the door open, as MINOR_DOOR_OPEN_NORMAL.
        const push = send('door-open', { door })
          .catch((err: unknown) => log.warn({ err }, 'simulated door.opened push failed'))
          .finally(() => pushes.delete(push));
        pushes.add(push);
      },
    });
    return server.address();
  }

  async function close(): Promise<void> {
    const s = server;
    server = undefined;
    await Promise.allSettled([...pushes]);
    await s?.close();
  }

  return {
    send,
    listen,
    close,
    address() {
      if (!server) throw new Error('the device server is not listening: call listen() first');
      return server.address();
    },
    executions: () => [...device.executions],
    failNext(n) {
      device.failNext = Math.max(0, Math.floor(n));
    },
    setDelay(ms) {
      device.delayMs = Math.max(0, ms);
    },
    run: (o) => runTraffic({ send, kinds: SIM_KINDS, random, doors, log, halt: halt.signal }, o),
    heartbeat() {
      const ipAddress = opts.ipAddress ?? '192.168.1.64';
      const doc = { ipAddress, dateTime: isapiDateTime(Date.now()), eventType: 'heartBeat', eventState: 'active' };
      return post(Buffer.from(JSON.stringify(doc)), 'application/json');
    },
    sendRaw: (body, contentType) => post(typeof body === 'string' ? Buffer.from(body) : body, contentType),
    stop() {
      halt.abort();
      agent.destroy();
      void close();
    },
    get serialNo() {
      return serial;
    },
  };
}
