import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSnapshotRenderer } from '../sim/scene.js';
import { envelope, faultEnvelope, isXml, parseDuration, parseXml, path, text, type Xml } from './soap.js';
import * as r from './simulator-soap.js';
import { startDiscoveryResponder, type DiscoveryResponder } from './simulator-discovery.js';
import { createVerifier, type AuthRefusal } from './simulator-security.js';
import type { SimEventKind, SimNotification, SimPreset } from './simulator-soap.js';

export type { AuthRefusal, SimEventKind };

/**
 * A simulated ONVIF Profile S camera that is an ONVIF device on the wire: SOAP 1.2 over HTTP for the
 * Device, Media, PTZ and Event services (ONVIF Core, Media, PTZ specs; answer shapes in
 * simulator-soap.ts), WS-Security PasswordDigest on everything but GetSystemDateAndTime
 * (simulator-security.ts), a device clock that may run `clockOffsetMs` ahead of ours, pull-point
 * subscriptions with long-polling PullMessages, a JPEG snapshot URL (a 640×360 scene with the time
 * burnt in: sim/scene.ts), two media profiles (main 1280×720, sub 640×360) whose GetStreamUri
 * points at an RTSP server when given one (rtsp-sim.ts), and a WS-Discovery responder.
 */
export interface OnvifSimulatorOptions {
  host?: string;
  /** HTTP port, 0 (default) picks one. */
  port?: number;
  username: string;
  password: string;
  /** Device clock minus real time, ms (e.g. 600_000: ten minutes ahead). */
  clockOffsetMs?: number;
  /** Burnt into the snapshots beside the device time, in ASCII (default "ONVIF SIM"). */
  name?: string;
  /** Largest |Created − device time| accepted, ms (default 30 s). */
  createdWindowMs?: number;
  /** UDP port of the WS-Discovery responder (0 picks one); false: none. Default 0 (3702 with discoveryMulticast). */
  discoveryPort?: number | false;
  /** The responder joins 239.255.255.250 on the interface of `host`, as a real camera (simulator-discovery.ts). */
  discoveryMulticast?: boolean;
  /** Longest a PullMessages is held open, ms (default 60 s, the ONVIF minimum a device must support). */
  maxPullWaitMs?: number;
  /**
   * 'hold' (default, as ONVIF asks): an empty PullMessages waits for news up to its Timeout.
   * 'immediate': answer at once with whatever is queued, even nothing (firmware seen in the field).
   */
  pullMode?: 'hold' | 'immediate';
  /**
   * Base of the RTSP server that streams this camera's profiles (e.g. the RTSP simulator's
   * rtsp://127.0.0.1:8554): GetStreamUri answers `${rtspUrl}/main` and `${rtspUrl}/sub`. Absent:
   * GetStreamUri is a SOAP fault (no stream to give).
   */
  rtspUrl?: string | undefined;
  /** The profiles carry a PTZ configuration (default true). */
  ptz?: boolean;
}

export interface PtzExecution {
  op: 'ContinuousMove' | 'Stop' | 'GotoPreset';
  at: number;
  args: Record<string, string | undefined>;
}

export interface PtzState {
  moving: boolean;
  velocity: { pan: number; tilt: number; zoom: number };
  preset: string | undefined;
}

interface Subscription {
  id: string;
  queue: SimNotification[];
  /** Device-clock ms. */
  terminationAt: number;
  wake?: (() => void) | undefined;
}

export interface OnvifSimulator {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** http://host:port/onvif/device_service */
  deviceUrl(): string;
  discoveryPort(): number;
  /** Queue a notification into every live pull point. */
  raise(kind: SimEventKind, state: boolean): void;
  goOffline(): void;
  goOnline(): void;
  setClockOffset(ms: number): void;
  /** The device's clock now. */
  deviceNow(): number;
  /** Answer the next n SOAP requests with a malformed body. */
  garbageNext(n: number): void;
  /** Switch between holding empty pulls (ONVIF) and answering them at once (misbehaving firmware). */
  setPullMode(mode: 'hold' | 'immediate'): void;
  /** PullMessages requests answered so far. */
  pulls(): number;
  /** Change the device account's password (as someone at the camera's web page would). */
  setPassword(password: string): void;
  ptz(): PtzState;
  executions(): PtzExecution[];
  snapshots(): number;
  authFailures(): AuthRefusal[];
  subscriptions(): number;
  readonly presets: readonly SimPreset[];
}

const MAX_BODY = 64 * 1024;
const SERVICE_OF: Readonly<Record<string, 'device' | 'media' | 'ptz' | 'events' | 'subscription'>> = {
  GetSystemDateAndTime: 'device', GetDeviceInformation: 'device', GetCapabilities: 'device', GetServices: 'device',
  GetProfiles: 'media', GetStreamUri: 'media', GetSnapshotUri: 'media', GetVideoSources: 'media',
  ContinuousMove: 'ptz', Stop: 'ptz', GetPresets: 'ptz', GotoPreset: 'ptz',
  CreatePullPointSubscription: 'events',
  PullMessages: 'subscription', Renew: 'subscription', Unsubscribe: 'subscription',
};
const PATHS = { device: '/onvif/device_service', media: '/onvif/media_service', ptz: '/onvif/ptz_service', events: '/onvif/event_service' };

export function createOnvifSimulator(o: OnvifSimulatorOptions): OnvifSimulator {
  let offsetMs = o.clockOffsetMs ?? 0;
  const now = (): number => Date.now() + offsetMs;
  // The verifier reads the account on every request, so setPassword() takes effect at once.
  const account = { username: o.username, password: o.password, windowMs: o.createdWindowMs ?? 30_000 };
  const verifier = createVerifier(account);
  const maxWait = o.maxPullWaitMs ?? 60_000;
  const snapshotPath = `/onvif/snapshot/${randomBytes(8).toString('hex')}.jpg`;
  const pictures = createSnapshotRenderer(o.name ?? 'ONVIF SIM');
  const presets: SimPreset[] = [{ token: '1', name: 'Gate' }, { token: '2', name: 'Car park' }];
  const subs = new Map<string, Subscription>();
  const log: PtzExecution[] = [];
  const refusals: AuthRefusal[] = [];
  const ptz: PtzState = { moving: false, velocity: { pan: 0, tilt: 0, zoom: 0 }, preset: undefined };
  let moveTimer: NodeJS.Timeout | undefined;
  let offline = false;
  let garbage = 0;
  let snapshots = 0;
  let pullMode = o.pullMode ?? 'hold';
  let pulls = 0;
  let discovery: DiscoveryResponder | undefined;
  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket) => offline && socket.destroy());

  const base = (): string => {
    const a = server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  };
  const xaddrs = (): r.SimXAddrs => ({ device: base() + PATHS.device, media: base() + PATHS.media, ptz: base() + PATHS.ptz, events: base() + PATHS.events });
  const send = (res: ServerResponse, status: number, xml: string): void => {
    res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8' }).end(xml);
  };
  const fault = (res: ServerResponse, status: number, sub: string, reason: string): void =>
    send(res, status, faultEnvelope(status >= 500 ? 'Receiver' : 'Sender', sub, reason));

  function stopMove(): void {
    clearTimeout(moveTimer);
    ptz.moving = false;
    ptz.velocity = { pan: 0, tilt: 0, zoom: 0 };
  }

  async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return undefined;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (offline) return void res.destroy();
    const url = new URL(req.url ?? '/', 'http://device');
    if (req.method === 'GET' && url.pathname === snapshotPath) {
      snapshots += 1;
      // 640×360, the device time burnt in (and in a COM segment, for tests): sim/scene.ts.
      const at = now();
      const jpeg = pictures.render(at, `RedButler ONVIF simulator ${new Date(at).toISOString().slice(0, 19)}Z`);
      return void res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length }).end(jpeg);
    }
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const body = await readBody(req);
    if (!body) return fault(res, 400, 'ter:InvalidArgVal', 'request too large');
    if (garbage > 0) {
      garbage -= 1;
      return void res.writeHead(200, { 'content-type': 'application/soap+xml' }).end('<s:Envelope><s:Body><broken');
    }
    let doc: Xml;
    try {
      doc = parseXml(body.toString('utf8'));
    } catch {
      return fault(res, 400, 'ter:WellFormed', 'malformed XML');
    }
    const bodyEl = path(doc, 'Envelope', 'Body');
    const op = isXml(bodyEl) ? Object.keys(bodyEl).find((k) => !k.startsWith('@') && k !== '#text') : undefined;
    const service = op ? SERVICE_OF[op] : undefined;
    if (!op || !service) return fault(res, 400, 'ter:ActionNotSupported', `operation ${op ?? 'missing'} not supported`);
    const sub = url.pathname.startsWith('/onvif/subscription/') ? subs.get(url.pathname.slice(20)) : undefined;
    if (service === 'subscription' ? !url.pathname.startsWith('/onvif/subscription/') : url.pathname !== PATHS[service]) {
      return fault(res, 400, 'ter:ActionNotSupported', `${op} is not served at ${url.pathname}`);
    }
    // Core Spec §5.12.1: GetSystemDateAndTime is the one pre-authentication operation used here.
    if (op !== 'GetSystemDateAndTime') {
      const refused = verifier.verify(doc, now());
      if (refused) {
        refusals.push(refused);
        return fault(res, 400, 'ter:NotAuthorized', `Sender not Authorized (${refused})`);
      }
    }
    const args = bodyEl && isXml(bodyEl) ? bodyEl[op] : undefined;
    await answer(op, args, sub, res);
  }

  async function answer(op: string, args: unknown, sub: Subscription | undefined, res: ServerResponse): Promise<void> {
    const arg = (...p: string[]): string | undefined => text(path(args, ...p));
    const velocity = (axis: 'PanTilt' | 'Zoom', xy: 'x' | 'y'): number => Number(text(path(args, 'Velocity', axis, `@${xy}`)) ?? 0);
    switch (op) {
      case 'GetSystemDateAndTime': return send(res, 200, envelope(r.systemDateAndTime(now())));
      case 'GetDeviceInformation':
        return send(res, 200, envelope(r.deviceInformation({ manufacturer: 'RedButler', model: 'SIM-PTZ-1', firmware: 'V5.7.3', serial: 'RB0001' })));
      case 'GetCapabilities': return send(res, 200, envelope(r.capabilities(xaddrs())));
      case 'GetServices': return send(res, 200, envelope(r.services(xaddrs())));
      case 'GetProfiles': return send(res, 200, envelope(r.profiles(r.SIM_PROFILES, o.ptz !== false)));
      case 'GetVideoSources': return send(res, 200, envelope(r.videoSources()));
      case 'GetStreamUri': {
        // Media Service Spec §5.15.1: StreamSetup (Stream RTP-Unicast, Transport/Protocol) and the ProfileToken.
        const profile = r.SIM_PROFILES.find((p) => p.token === arg('ProfileToken'));
        if (!profile) return fault(res, 400, 'ter:NoProfile', 'unknown profile');
        const stream = arg('StreamSetup', 'Stream');
        const protocol = arg('StreamSetup', 'Transport', 'Protocol');
        if ((stream && stream !== 'RTP-Unicast') || (protocol && !['RTSP', 'UDP', 'TCP'].includes(protocol))) {
          return fault(res, 400, 'ter:InvalidStreamSetup', `stream setup ${stream ?? '-'}/${protocol ?? '-'} not supported`);
        }
        if (!o.rtspUrl) return fault(res, 500, 'ter:IncompleteConfiguration', 'no RTSP stream configured on this camera');
        return send(res, 200, envelope(r.mediaUri('GetStreamUri', `${o.rtspUrl.replace(/\/+$/, '')}/${profile.path}`)));
      }
      case 'GetSnapshotUri': return send(res, 200, envelope(r.mediaUri('GetSnapshotUri', base() + snapshotPath)));
      case 'GetPresets': return send(res, 200, envelope(r.presets(presets)));
      case 'ContinuousMove': {
        if (o.ptz === false || !r.SIM_PROFILES.some((p) => p.token === arg('ProfileToken'))) return fault(res, 400, 'ter:NoProfile', 'unknown profile');
        const timeout = parseDuration(arg('Timeout'));
        log.push({ op, at: Date.now(), args: { pan: String(velocity('PanTilt', 'x')), tilt: String(velocity('PanTilt', 'y')), zoom: String(velocity('Zoom', 'x')), timeout: arg('Timeout') } });
        stopMove();
        Object.assign(ptz, { moving: true, velocity: { pan: velocity('PanTilt', 'x'), tilt: velocity('PanTilt', 'y'), zoom: velocity('Zoom', 'x') }, preset: undefined });
        if (timeout !== undefined) moveTimer = setTimeout(stopMove, timeout).unref();
        return send(res, 200, envelope(r.empty('tptz', op)));
      }
      case 'Stop':
        log.push({ op, at: Date.now(), args: { panTilt: arg('PanTilt'), zoom: arg('Zoom') } });
        stopMove();
        return send(res, 200, envelope(r.empty('tptz', op)));
      case 'GotoPreset': {
        const token = arg('PresetToken');
        if (!presets.some((p) => p.token === token)) return fault(res, 400, 'ter:NoToken', 'no such preset');
        log.push({ op, at: Date.now(), args: { preset: token } });
        stopMove();
        ptz.preset = token;
        return send(res, 200, envelope(r.empty('tptz', op)));
      }
      case 'CreatePullPointSubscription': {
        const id = randomUUID();
        const ttl = parseDuration(arg('InitialTerminationTime')) ?? 60_000;
        subs.set(id, { id, queue: [], terminationAt: now() + ttl });
        return send(res, 200, envelope(r.subscriptionCreated(`${base()}/onvif/subscription/${id}`, now(), now() + ttl)));
      }
      default:
        return subscriptionOp(op, arg, sub, res);
    }
  }

  async function subscriptionOp(op: string, arg: (...p: string[]) => string | undefined, sub: Subscription | undefined, res: ServerResponse): Promise<void> {
    if (!sub || sub.terminationAt < now()) {
      if (sub) subs.delete(sub.id);
      return fault(res, 400, 'ter:InvalidArgVal', 'subscription unknown or expired (ResourceUnknownFault)');
    }
    if (op === 'Unsubscribe') {
      subs.delete(sub.id);
      sub.wake?.();
      return send(res, 200, envelope(r.empty('wsnt', op)));
    }
    if (op === 'Renew') {
      const t = arg('TerminationTime');
      const rel = parseDuration(t);
      sub.terminationAt = rel !== undefined ? now() + rel : Date.parse(t ?? '') || now() + 60_000;
      return send(res, 200, envelope(r.renewed(now(), sub.terminationAt)));
    }
    // PullMessages (Core Spec §9.2): answer at once when messages wait, else hold up to Timeout.
    const limit = Math.max(1, Math.min(1000, Number(arg('MessageLimit') ?? 1) || 1));
    const wait = Math.min(maxWait, parseDuration(arg('Timeout')) ?? 10_000);
    pulls += 1;
    if (sub.queue.length === 0 && pullMode === 'hold') {
      sub.wake?.(); // one waiter per pull point: a newer pull releases the older one
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (sub.wake = undefined, resolve()), wait);
        sub.wake = () => (clearTimeout(timer), sub.wake = undefined, resolve());
      });
    }
    if (offline || res.destroyed) return;
    send(res, 200, envelope(r.pulled(now(), sub.terminationAt, sub.queue.splice(0, limit))));
  }

  const api: OnvifSimulator = {
    presets,
    async start() {
      pictures.prepare();
      await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
      if (o.discoveryPort !== false) {
        const endpoint = `urn:uuid:${createHash('sha1').update(base()).digest('hex').slice(0, 8)}-0000-4000-8000-000000000001`;
        const scopes = ['onvif://www.onvif.org/type/video_encoder', 'onvif://www.onvif.org/type/ptz', 'onvif://www.onvif.org/name/RedButler-SIM'];
        discovery = await startDiscoveryResponder({
          host: o.host ?? '127.0.0.1', port: o.discoveryPort ?? (o.discoveryMulticast ? 3702 : 0), endpoint, scopes, answering: () => !offline, xaddrs: () => [xaddrs().device],
          multicast: o.discoveryMulticast === true,
        });
      }
    },
    async stop() {
      stopMove();
      for (const s of subs.values()) s.wake?.();
      subs.clear();
      await discovery?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    deviceUrl: () => xaddrs().device,
    discoveryPort: () => discovery?.port() ?? 0,
    raise(kind, state) {
      for (const s of subs.values()) {
        if (s.terminationAt < now()) continue;
        s.queue.push({ kind, state, at: now(), operation: 'Changed' });
        if (s.queue.length > 100) s.queue.shift();
        s.wake?.();
      }
    },
    goOffline() {
      offline = true;
      server.closeAllConnections();
    },
    goOnline() {
      offline = false;
    },
    setClockOffset: (ms) => void (offsetMs = ms),
    deviceNow: now,
    garbageNext: (n) => void (garbage = n),
    setPullMode: (mode) => void (pullMode = mode),
    pulls: () => pulls,
    setPassword: (password) => void (account.password = password),
    ptz: () => ({ ...ptz, velocity: { ...ptz.velocity } }),
    executions: () => [...log],
    snapshots: () => snapshots,
    authFailures: () => [...refusals],
    subscriptions: () => subs.size,
  };
  return api;
}
