import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { EventType } from '../../protocol/index.js';
import { isapiDateTime } from '../access-gate/simulator.js';
import { postUntilAccepted, type RepostOptions } from '../sim/repost.js';
import { createSnapshotRenderer, plateJpeg } from '../sim/scene.js';
import { startDeviceServer, type BarrierExecution, type DeviceListenOptions, type DeviceServer, type DeviceState } from './simulator-device.js';

export type { BarrierExecution, DeviceListenOptions };

/**
 * A Hikvision entrance/exit ANPR camera driving a barrier, on the wire. It POSTs ANPR
 * `EventNotificationAlert`s to the gateway as multipart/form-data with an `anpr.xml` part and
 * `licensePlatePicture.jpg` / `detectionPicture.jpg` parts, like the captured firmware (sources:
 * anpr-parse.ts), and looks the plate up in its own allow/block lists to fill `vehicleListName`, as
 * the camera does. With `listen()` it serves ISAPI barrier control and the plate-list API behind
 * Digest (simulator-device.ts); a plate on its allowList makes it raise the barrier itself and push
 * the new barrier status, as cameras in "control by camera" mode do.
 * Lane 1 is the entry lane (vehicles drive towards the camera: direction forward), lane 2 the exit.
 * A visitor (`visitor-in`, a plate on no list) leaves with `visitor-out`: by default the last visitor
 * that came in on a plate of the simulator's own making.
 */
export type SimKind = 'allow-in' | 'allow-out' | 'visitor-in' | 'visitor-out' | 'block' | 'unreadable' | 'barrier-open' | 'barrier-close' | 'fault';

/** The event each kind becomes with the default lists and lanes `[{1,in},{2,out}]`. */
export const SIM_KINDS: Readonly<Record<SimKind, EventType>> = {
  'allow-in': 'vehicle.entered',
  'allow-out': 'vehicle.exited',
  'visitor-in': 'vehicle.entered',
  'visitor-out': 'vehicle.exited',
  block: 'vehicle.denied',
  unreadable: 'vehicle.entered',
  'barrier-open': 'barrier.opened',
  'barrier-close': 'barrier.closed',
  fault: 'barrier.fault',
};

export const DEFAULT_ALLOW = ['京A12345', '京B67890', '沪C24680'];
export const DEFAULT_BLOCK = ['冀D13579'];

export interface BarrierGateSimulatorOptions {
  /** Full URL to POST to, e.g. http://127.0.0.1:8091/anpr/barrier-1 */
  target: string;
  deviceName?: string;
  ipAddress?: string;
  /** Initial lists on the camera (default DEFAULT_ALLOW / DEFAULT_BLOCK). */
  allow?: readonly string[];
  block?: readonly string[];
  /** Raise the barrier (and push its status) when an allowList plate is read. Default true. */
  autoOpen?: boolean;
  log?: Logger;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

export interface SendOptions {
  plate?: string;
  lane?: number;
  direction?: 'forward' | 'reverse' | 'unknown';
  /** Re-send with this UUID (a camera retrying). Default: a fresh one. */
  uuid?: string;
  at?: Date | number;
  /** Attach the JPEG parts (ANPR kinds only). Default true. */
  pictures?: boolean;
  /** Re-post the same alert (same UUID, time and body) until the gateway answers 200 (sim/repost.ts). */
  retry?: RepostOptions;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface SentAlert extends HttpAnswer {
  kind: SimKind;
  uuid: string;
  /** vehicleListName the camera put in the alert (ANPR kinds). */
  list?: 'allowList' | 'blockList' | 'otherList';
  xml: string;
}

export interface BarrierGateSimulator {
  send(kind: SimKind, opts?: SendOptions): Promise<SentAlert>;
  /** The keep-alive an idle ISAPI camera sends (videoloss, inactive). */
  heartbeat(): Promise<HttpAnswer>;
  sendRaw(body: string | Buffer, contentType: string): Promise<HttpAnswer>;
  /** Start the camera's ISAPI server; resolves with its base URL, the driver's `address`. */
  listen(opts: DeviceListenOptions): Promise<string>;
  address(): string;
  executions(): BarrierExecution[];
  /** The camera's current lists. */
  lists(): { allow: string[]; block: string[] };
  listRequests(): number;
  /** List replaces (delete-all requests) carried out. */
  listClears(): number;
  /** Answer the next n commands (barrier or list) with an error ResponseStatus. */
  failNext(n: number): void;
  setDelay(ms: number): void;
  /** Close the ISAPI server after waiting for the status pushes it started. */
  close(): Promise<void>;
}

const BOUNDARY = 'MIME_boundary';
const XMLNS = 'http://www.isapi.org/ver20/XMLSchema';
const esc = (s: string): string => s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));

export function createBarrierGateSimulator(opts: BarrierGateSimulatorOptions): BarrierGateSimulator {
  const url = new URL(opts.target);
  const log = opts.log ?? silentLogger();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const state: DeviceState = {
    executions: [],
    listRequests: 0,
    listClears: 0,
    failNext: 0,
    delayMs: 0,
    allow: new Set(opts.allow ?? DEFAULT_ALLOW),
    block: new Set(opts.block ?? DEFAULT_BLOCK),
    barrier: new Map([[1, 1], [2, 1]]),
  };
  const pushes = new Set<Promise<unknown>>();
  let server: DeviceServer | undefined;
  let visitors = 0;
  let lastVisitor: string | undefined;
  // Pictures as a camera sends them: the plate crop (kept per plate: one jpeg-js call each) and the
  // 640×360 scene with the time burnt in (sim/scene.ts).
  const scene = createSnapshotRenderer(opts.deviceName ?? 'Entrance');
  const plates = new Map<string, Buffer>();
  const plateCrop = (plate: string): Buffer => {
    let jpeg = plates.get(plate);
    if (!jpeg) {
      if (plates.size >= 64) plates.delete(plates.keys().next().value as string);
      plates.set(plate, (jpeg = plateJpeg(plate)));
    }
    return jpeg;
  };

  const listOf = (plate: string): NonNullable<SentAlert['list']> =>
    state.block.has(plate) ? 'blockList' : state.allow.has(plate) ? 'allowList' : 'otherList';

  function envelope(eventType: string, ms: number, channel: number, inner: string, uuid: string, extra = ''): string {
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="${XMLNS}">\n` +
      `<ipAddress>${opts.ipAddress ?? '192.168.1.20'}</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n` +
      `<macAddress>e8:a0:ed:00:00:01</macAddress>\n<channelID>${channel}</channelID>\n<dateTime>${isapiDateTime(ms)}</dateTime>\n` +
      `<activePostCount>1</activePostCount>\n<eventType>${eventType}</eventType>\n<eventState>active</eventState>\n` +
      `<eventDescription>${eventType}</eventDescription>\n<channelName>${esc(opts.deviceName ?? 'Entrance')}</channelName>\n` +
      `${inner}\n<UUID>${uuid}</UUID>${extra}\n</EventNotificationAlert>\n`
    );
  }

  function anprXml(plate: string | undefined, lane: number, direction: string, list: string, ms: number, uuid: string): string {
    const abs = isapiDateTime(ms).slice(0, 19).replace(/\D/g, '') + '000';
    const pic = (name: string, i: number): string =>
      `<pictureInfo><fileName>${name}.jpg</fileName><type>${name}</type><dataType>0</dataType><pId>${uuid.replace(/-/g, '').slice(0, 18)}${i}</pId><absTime>${abs}</absTime></pictureInfo>`;
    const shown = plate === undefined ? '无车牌' : esc(plate);
    const inner =
      `<ANPR>\n<licensePlate>${shown}</licensePlate>\n<line>${lane}</line>\n<direction>${direction}</direction>\n` +
      `<confidenceLevel>${plate === undefined ? 0 : 97}</confidenceLevel>\n<plateType>92TypeCivil</plateType>\n` +
      `<plateColor>${plate === undefined ? 'unknown' : 'blue'}</plateColor>\n<licenseBright>0</licenseBright>\n<vehicleType>vehicle</vehicleType>\n` +
      `<pictureInfoList>${pic('licensePlatePicture', 1)}${pic('detectionPicture', 2)}</pictureInfoList>\n` +
      `<originalLicensePlate>${shown}</originalLicensePlate>\n<vehicleListName>${list}</vehicleListName>\n</ANPR>`;
    return envelope('ANPR', ms, 1, inner, uuid, '\n<picNum>2</picNum>');
  }

  function statusXml(lane: number, status: 0 | 1 | 2, ms: number, uuid: string): string {
    const inner = `<BarrierGateStatus>\n<laneNo>${lane}</laneNo>\n<barrierGateStatus>${status}</barrierGateStatus>\n</BarrierGateStatus>`;
    return envelope('barrierGateStatus', ms, 1, inner, uuid);
  }

  function multipart(xmlText: string, pictures: { plate: string; ms: number } | undefined): Buffer {
    const part = (name: string, type: string, body: Buffer): Buffer[] => [
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
      Buffer.from('\r\n'),
    ];
    const chunks = part('anpr.xml', 'application/xml', Buffer.from(xmlText));
    if (pictures) {
      const detection = scene.render(pictures.ms, `RedButler ANPR simulator ${new Date(pictures.ms).toISOString().slice(0, 19)}Z`);
      chunks.push(...part('licensePlatePicture.jpg', 'image/jpeg', plateCrop(pictures.plate)), ...part('detectionPicture.jpg', 'image/jpeg', detection));
    }
    chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
    return Buffer.concat(chunks);
  }

  function post(body: Buffer, contentType: string, retried = false): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const headers = { 'content-type': contentType, 'content-length': body.length };
      const req = request(url, { method: 'POST', agent, timeout: opts.timeoutMs ?? 10_000, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} in time`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed meanwhile: post once more on a fresh one (Node http docs).
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') post(body, contentType, true).then(resolve, reject);
        else reject(err);
      });
      req.end(body);
    });
  }

  /** The plate the camera reads when the caller names none; a visitor leaves on the plate it came in with. */
  function ownPlate(kind: SimKind): string | undefined {
    const newVisitor = (): string => `粤Z${String(10000 + (visitors++ % 90000))}`;
    switch (kind) {
      case 'block':
        return [...state.block][0];
      case 'visitor-in':
        return (lastVisitor = newVisitor());
      case 'visitor-out': {
        const plate = lastVisitor ?? newVisitor();
        lastVisitor = undefined;
        return plate;
      }
      default:
        return [...state.allow][0];
    }
  }

  /** One post, or re-posts of the same body until a 200. */
  function deliver(body: Buffer, contentType: string, retry: RepostOptions | undefined): Promise<HttpAnswer> {
    return retry ? postUntilAccepted(() => post(body, contentType), (a) => a.status === 200, retry) : post(body, contentType);
  }

  /** Push a barrier status in the background (after a command or an auto-open); awaited by close(). */
  function pushStatus(lane: number, status: 0 | 1 | 2): void {
    const p = post(Buffer.from(statusXml(lane, status, Date.now(), randomUUID())), 'application/xml; charset="UTF-8"')
      .catch((err: unknown) => log.warn({ err }, 'simulated barrier status push failed'))
      .finally(() => pushes.delete(p));
    pushes.add(p);
  }

  async function send(kind: SimKind, o: SendOptions = {}): Promise<SentAlert> {
    const ms = o.at === undefined ? Date.now() : typeof o.at === 'number' ? o.at : o.at.getTime();
    const uuid = o.uuid ?? randomUUID();
    if (kind === 'barrier-open' || kind === 'barrier-close' || kind === 'fault') {
      const lane = o.lane ?? 1;
      const status = kind === 'barrier-open' ? 2 : kind === 'barrier-close' ? 1 : 0;
      state.barrier.set(lane, status);
      const xmlText = statusXml(lane, status, ms, uuid);
      return { kind, uuid, xml: xmlText, ...(await deliver(Buffer.from(xmlText), 'application/xml; charset="UTF-8"', o.retry)) };
    }
    const out = kind === 'allow-out' || kind === 'visitor-out';
    const lane = o.lane ?? (out ? 2 : 1);
    const plate = kind === 'unreadable' ? undefined : (o.plate ?? ownPlate(kind) ?? '京A00000');
    const list = plate === undefined ? 'otherList' : listOf(plate);
    const xmlText = anprXml(plate, lane, o.direction ?? (out ? 'reverse' : 'forward'), list, ms, uuid);
    const answer = await deliver(multipart(xmlText, (o.pictures ?? true) ? { plate: plate ?? '', ms } : undefined), `multipart/form-data; boundary=${BOUNDARY}`, o.retry);
    if (list === 'allowList' && (opts.autoOpen ?? true) && server) {
      state.barrier.set(lane, 2);
      pushStatus(lane, 2);
    }
    log.debug({ kind, status: answer.status }, 'simulated anpr alert posted');
    return { kind, uuid, list, xml: xmlText, ...answer };
  }

  async function close(): Promise<void> {
    const s = server;
    server = undefined;
    await Promise.allSettled([...pushes]);
    await s?.close();
    agent.destroy();
  }

  return {
    send,
    close,
    async listen(o) {
      if (server) throw new Error('the camera server is already listening');
      const pushOnMove = o.pushOnMove ?? true;
      server = await startDeviceServer({
        ...o,
        lanes: 2,
        state,
        log,
        onExecuted({ lane, ctrlMode }) {
          if (pushOnMove && (ctrlMode === 'open' || ctrlMode === 'close')) pushStatus(lane, ctrlMode === 'open' ? 2 : 1);
        },
      });
      return server.address();
    },
    address() {
      if (!server) throw new Error('the camera server is not listening: call listen() first');
      return server.address();
    },
    heartbeat() {
      const ms = Date.now();
      const doc =
        `<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="${XMLNS}"><ipAddress>${opts.ipAddress ?? '192.168.1.20'}</ipAddress>` +
        `<channelID>1</channelID><dateTime>${isapiDateTime(ms)}</dateTime><activePostCount>0</activePostCount><eventType>videoloss</eventType>` +
        `<eventState>inactive</eventState><eventDescription>videoloss alarm</eventDescription></EventNotificationAlert>`;
      return post(Buffer.from(doc), 'application/xml');
    },
    sendRaw: (body, contentType) => post(typeof body === 'string' ? Buffer.from(body) : body, contentType),
    executions: () => [...state.executions],
    lists: () => ({ allow: [...state.allow], block: [...state.block] }),
    listRequests: () => state.listRequests,
    listClears: () => state.listClears,
    failNext(n) {
      state.failNext = Math.max(0, Math.floor(n));
    },
    setDelay(ms) {
      state.delayMs = Math.max(0, ms);
    },
  };
}
