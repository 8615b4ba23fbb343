import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Driver, VideoSource } from '../../devices/types.js';
import { encodeRelayFrame, FRAME_INIT, FRAME_MEDIA, PTZ_PRESET_NAME_MAX, PTZ_PRESETS_MAX, VIDEO_QUALITIES, type RelayHello, type RelayToHub, type VideoErrorCode, type VideoQuality } from '../../protocol/video.js';
import { backoffDelay } from '../uplink.js';
import { startPuller, type Puller } from './puller.js';
import { redactUrl } from './secrets.js';

export interface VideoRelayOptions {
  /** Hub HTTP base URL (config hub.httpUrl); the relay dials ws(s)://…/api/v1/video/relay. */
  hubUrl: string;
  username: string;
  password: string;
  version: string;
  /** The devices running now (the gateway's map; reload changes it). */
  devices(): Iterable<[string, Pick<Driver, 'streams'>]>;
  ffmpeg: string;
  maxStreams: number;
  maxSegmentBytes: number;
  startTimeoutMs: number;
  stallTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  log: Logger;
  /** Media segments are dropped (never the init) while the link has more than this queued; default 4 MiB. */
  maxBufferedBytes?: number;
  /** How long hello waits for each camera's streams(); default 3 s. */
  helloTimeoutMs?: number;
  /** A ping every this many ms; a link that did not answer the previous one is dropped. Default 15 s. */
  pingMs?: number;
}

export interface VideoRelayStats {
  connected: boolean;
  /** Streams pulled now (ffmpeg running, starting or opened). */
  running: number;
  /** Bytes of binary frames handed to the link. */
  bytesRelayed: number;
  /** Media segments dropped because the link was backed up. */
  segmentsDropped: number;
  /** Streams that ended with an error, by code. */
  errors: Partial<Record<VideoErrorCode, number>>;
  /** Hub messages that were not understood (not JSON, unknown type, bad sid, unknown device). */
  badMessages: number;
}

export interface VideoRelay {
  start(): void;
  /** Close the link and stop every stream; resolves once every ffmpeg child is reaped. */
  stop(): Promise<void>;
  /** The device list changed (config reload): reconnect so the hub gets a fresh hello. */
  devicesChanged(): void;
  stats(): VideoRelayStats;
  /** ffmpeg process ids of the streams now (tests). */
  pids(): number[];
}

const SID = /^[A-Za-z0-9_-]{1,32}$/;

interface Stream {
  sid: string;
  device: string;
  abort: AbortController;
  puller?: Puller;
}

/**
 * The gateway end of the live-video relay (docs/video.md): one outbound WebSocket to the hub, HTTP
 * Basic with the gateway's MQTT login; the hub asks for a stream (`open`), the gateway pulls it with
 * one ffmpeg child (puller.ts) and relays its segments as binary frames until `close`. No link, no
 * streams: when the link drops every ffmpeg child is stopped.
 */
export function createVideoRelay(o: VideoRelayOptions): VideoRelay {
  const { log } = o;
  const maxBuffered = o.maxBufferedBytes ?? 4 * 1024 * 1024;
  const base = new URL('api/v1/video/relay', o.hubUrl.endsWith('/') ? o.hubUrl : `${o.hubUrl}/`);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = base.toString();
  const streams = new Map<string, Stream>();
  /** ffmpeg children of ended streams still on their way out (SIGTERM, then SIGKILL): stop() waits for them too. */
  const dying = new Set<Puller>();
  const counters: Omit<VideoRelayStats, 'connected' | 'running'> = { bytesRelayed: 0, segmentsDropped: 0, errors: {}, badMessages: 0 };
  let ws: WebSocket | undefined;
  let stopped = true;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  let lastBadLog = 0;

  /** The link is kept only while some device can stream: a gateway without cameras never dials. */
  const wanted = (): boolean => [...o.devices()].some(([, d]) => typeof d.streams === 'function');

  function connect(): void {
    timer = undefined;
    if (stopped || !wanted()) return;
    const auth = Buffer.from(`${o.username}:${o.password}`).toString('base64');
    const socket = new WebSocket(url, { headers: { authorization: `Basic ${auth}` }, perMessageDeflate: false, maxPayload: 64 * 1024, handshakeTimeout: 10_000 });
    ws = socket;
    let alive = true;
    let pinger: NodeJS.Timeout | undefined;
    let openedAt: number | undefined;
    socket.on('open', () => {
      openedAt = Date.now();
      failing = false;
      log.info({ url }, 'video relay connected to hub');
      void hello(socket);
      pinger = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, o.pingMs ?? 15_000);
    });
    socket.on('pong', () => (alive = true));
    socket.on('message', (data, isBinary) => onMessage(socket, data as Buffer, isBinary));
    socket.on('error', (err) => {
      // Said once per outage at warn; the retries that follow at debug.
      const msg = redactUrl(err.message);
      if (failing) log.debug({ err: msg }, 'video relay link failed');
      else log.warn({ err: msg, url }, 'video relay link failed; retrying with backoff');
      failing = true;
    });
    socket.on('close', (code) => {
      clearInterval(pinger);
      if (ws !== socket) return;
      ws = undefined;
      if (streams.size) log.info({ code, streams: streams.size }, 'video relay link closed: every stream stops');
      for (const sid of [...streams.keys()]) void stopStream(sid);
      if (stopped) return;
      // The backoff starts over only after a link that lasted: a hub that closes every link at once is not dialed in a loop.
      if (openedAt !== undefined && Date.now() - openedAt > 10_000) attempt = 0;
      const delay = backoffDelay(attempt++, o.backoffMinMs, o.backoffMaxMs);
      timer = setTimeout(connect, delay);
    });
  }

  function send(socket: WebSocket, msg: RelayToHub): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  }

  async function hello(socket: WebSocket): Promise<void> {
    const cameras: RelayHello['cameras'] = [];
    await Promise.all(
      [...o.devices()].map(async ([device, driver]) => {
        if (!driver.streams) return;
        const sources = await askStreams(driver.streams.bind(driver), AbortSignal.timeout(o.helloTimeoutMs ?? 3_000)).catch((err: unknown) => {
          log.debug({ device, err: redactUrl((err as Error).message) }, 'camera cannot say its streams yet; listed without sizes');
          return null;
        });
        if (!sources) return void cameras.push({ device, ptz: false, profiles: VIDEO_QUALITIES.map((quality) => ({ quality })) });
        const profiles = VIDEO_QUALITIES.flatMap((quality) => {
          const s = sources.find((x) => x.quality === quality);
          return s ? [{ quality, ...(s.width && s.height ? { width: s.width, height: s.height } : {}) }] : [];
        });
        const ptz = sources.some((s) => s.ptz);
        const presets = ptz ? helloPresets(sources) : [];
        cameras.push({ device, ptz, profiles, ...(presets.length ? { presets } : {}) });
      }),
    );
    cameras.sort((a, b) => a.device.localeCompare(b.device));
    send(socket, { t: 'hello', version: o.version, cameras });
  }

  function bad(reason: string, detail: Record<string, unknown> = {}): void {
    counters.badMessages++;
    // A confused hub could send thousands a second: one line a second at most.
    const now = Date.now();
    if (now - lastBadLog < 1_000) return;
    lastBadLog = now;
    log.warn({ ...detail, badMessages: counters.badMessages }, `video relay: hub message ignored (${reason})`);
  }

  function onMessage(socket: WebSocket, data: Buffer, isBinary: boolean): void {
    if (isBinary) return bad('binary frame from the hub');
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return bad('not JSON');
    }
    const m = (typeof msg === 'object' && msg !== null ? msg : {}) as { t?: unknown; sid?: unknown; device?: unknown; quality?: unknown };
    if (m.t !== 'open' && m.t !== 'close') return bad('unknown type', { t: typeof m.t === 'string' ? m.t.slice(0, 32) : typeof m.t });
    if (typeof m.sid !== 'string' || !SID.test(m.sid)) return bad('bad sid');
    if (m.t === 'close') {
      if (!streams.has(m.sid)) log.debug({ sid: m.sid }, 'close for a stream that already ended');
      return void stopStream(m.sid);
    }
    const sid = m.sid;
    const refuse = (code: VideoErrorCode, message: string): void => {
      count(code);
      send(socket, { t: 'error', sid, code, message });
    };
    if (streams.has(sid)) return bad('open for a stream already running', { sid });
    const driver = typeof m.device === 'string' ? new Map(o.devices()).get(m.device) : undefined;
    if (typeof m.device !== 'string' || !driver?.streams) {
      bad('unknown device', { sid, device: typeof m.device === 'string' ? m.device.slice(0, 64) : typeof m.device });
      return refuse('RB_ERR_NOT_FOUND', 'no such camera on this gateway');
    }
    if (!VIDEO_QUALITIES.includes(m.quality as VideoQuality)) {
      bad('unknown quality', { sid });
      return refuse('RB_ERR_NOT_FOUND', 'no such quality (main or sub)');
    }
    // Children still stopping count too, up to as many again: a hub that opens and closes in a loop
    // cannot pile up ffmpeg processes.
    if (streams.size >= o.maxStreams || streams.size + dying.size >= 2 * o.maxStreams) {
      return refuse('RB_ERR_VIDEO_CAP', `this gateway pulls at most ${o.maxStreams} streams at once (video.maxStreams)`);
    }
    void openStream(socket, sid, m.device, m.quality as VideoQuality, driver as Required<Pick<Driver, 'streams'>>);
  }

  async function openStream(socket: WebSocket, sid: string, device: string, quality: VideoQuality, driver: Required<Pick<Driver, 'streams'>>): Promise<void> {
    const stream: Stream = { sid, device, abort: new AbortController() };
    streams.set(sid, stream);
    const deadline = Date.now() + o.startTimeoutMs;
    const live = () => streams.get(sid) === stream && !stream.abort.signal.aborted;
    const end = (code: VideoErrorCode, message: string): void => {
      if (!live()) return;
      streams.delete(sid);
      const p = stream.puller;
      if (p) {
        dying.add(p);
        void p.exited.then(() => dying.delete(p));
      }
      count(code);
      log.warn({ sid, device, code, message }, 'video stream ended');
      send(socket, { t: 'error', sid, code, message });
    };
    let source: VideoSource | undefined;
    try {
      const sources = await askStreams(driver.streams.bind(driver), AbortSignal.any([stream.abort.signal, AbortSignal.timeout(o.startTimeoutMs)]));
      source = sources.find((s) => s.quality === quality) ?? sources.find((s) => s.quality === 'main') ?? sources[0];
      if (!source) return end('RB_ERR_CAMERA_UNREACHABLE', 'the camera has no stream');
    } catch (err) {
      return end('RB_ERR_CAMERA_UNREACHABLE', `the camera cannot say its streams: ${redactUrl((err as Error).message)}`);
    }
    if (!live()) return;
    const slog = log.child({ sid, device, quality });
    const pull = (quickProbe: boolean): void => {
      let opened = false;
      stream.puller = startPuller({
        ffmpeg: o.ffmpeg,
        source: source!,
        quickProbe,
        maxSegmentBytes: o.maxSegmentBytes,
        startTimeoutMs: Math.max(1, deadline - Date.now()),
        stallTimeoutMs: o.stallTimeoutMs,
        log: slog,
        onOpened(info, init) {
          if (!live()) return;
          opened = true;
          send(socket, { t: 'opened', sid, ...info });
          frame(socket, encodeRelayFrame(FRAME_INIT, sid, init));
          slog.info({ mime: info.mime, width: info.width, height: info.height, pid: stream.puller?.pid }, 'video stream opened');
        },
        onMedia(segment) {
          if (!live()) return;
          if (socket.bufferedAmount > maxBuffered) {
            counters.segmentsDropped++;
            return;
          }
          frame(socket, encodeRelayFrame(FRAME_MEDIA, sid, segment));
        },
        onEnd: (e) => {
          // The quick probe found no parameter sets in the camera's description: once more, probed fully.
          if (quickProbe && !opened && live() && deadline - Date.now() > 1_000 && e.fullProbe) {
            slog.info({ message: e.message }, 'the camera gives no H.264 parameters up front; pulling again with a full probe');
            const previous = stream.puller;
            void previous?.exited.then(() => live() && stream.puller === previous && pull(false));
            return;
          }
          end(e.code, e.message);
        },
      });
    };
    pull(true);
  }

  function frame(socket: WebSocket, bytes: Uint8Array): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    counters.bytesRelayed += bytes.length;
    socket.send(bytes, { binary: true });
  }

  function count(code: VideoErrorCode): void {
    counters.errors[code] = (counters.errors[code] ?? 0) + 1;
  }

  async function stopStream(sid: string): Promise<void> {
    const stream = streams.get(sid);
    if (!stream) return;
    streams.delete(sid);
    stream.abort.abort();
    const p = stream.puller;
    if (!p) return;
    dying.add(p);
    await p.stop();
    dying.delete(p);
    log.debug({ sid, device: stream.device }, 'video stream stopped');
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      connect();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const pullers = [...[...streams.values()].map((s) => s.puller), ...dying];
      for (const sid of [...streams.keys()]) void stopStream(sid);
      ws?.close(1001, 'gateway stopping');
      ws?.terminate();
      ws = undefined;
      await Promise.all(pullers.map((p) => p?.stop()));
    },
    devicesChanged() {
      if (stopped) return;
      attempt = 0;
      if (ws) ws.close(1012, 'devices changed');
      else if (!timer) connect();
    },
    stats: () => ({ connected: ws?.readyState === WebSocket.OPEN, running: streams.size, ...counters, errors: { ...counters.errors } }),
    pids: () => [...[...streams.values()].map((s) => s.puller), ...dying].flatMap((p) => (p?.pid ? [p.pid] : [])),
  };
}

/** The presets a PTZ camera's sources carry, within hello's bounds (the hub refuses a hello beyond them). */
function helloPresets(sources: VideoSource[]): Array<{ token: string; name: string }> {
  const list = sources.find((s) => s.ptz && s.presets?.length)?.presets ?? [];
  return list
    .filter((p) => /^[\x21-\x7e]{1,64}$/.test(p.token) && p.name.length > 0)
    .slice(0, PTZ_PRESETS_MAX)
    .map((p) => ({ token: p.token, name: [...p.name].slice(0, PTZ_PRESET_NAME_MAX).join('') }));
}

/** A driver's streams(), given up on when `signal` aborts even if the driver does not listen to it. */
function askStreams(streams: (signal: AbortSignal) => Promise<VideoSource[]>, signal: AbortSignal): Promise<VideoSource[]> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error(signal.reason instanceof Error ? signal.reason.message : 'aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(() => streams(signal))
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}
