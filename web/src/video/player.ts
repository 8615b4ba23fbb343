import type { VideoErrorCode, VideoQuality, ViewerHello, ViewerMessage } from '../../../protocol/video.js';
import { refreshSession, session } from '../session.js';

/**
 * One live stream into one <video> (docs/video.md, "The viewer link"): a WebSocket to
 * `/api/v1/video/live`, the `watch` message with the access token (never in the URL), then the hub's
 * `ready {mime}` and bare fragmented-MP4 segments (the init segment first) appended to a MediaSource
 * SourceBuffer in order. Kept near the live edge and trimmed behind; muted so it may autoplay.
 *
 * Never throws into the page: every failure becomes a status (`onStatus`) the tile shows in words. A
 * closed or failed socket is retried with backoff, unless the hub said retrying cannot help (no such
 * camera, not signed in, a cap).
 */
export type PlayerState = 'connecting' | 'playing' | 'error' | 'offline';

export interface PlayerStatus {
  state: PlayerState;
  /** The hub's code (`video.err.<code>`), or `unsupported` when this browser cannot play the stream. */
  code?: VideoErrorCode | 'unsupported';
  /** The hub's own words (a cap names itself). */
  message?: string;
  /** A new attempt is scheduled (the tile says "reconnecting"). */
  retrying: boolean;
}

export interface PlayerOptions {
  estate: string;
  device: string;
  quality: VideoQuality;
  /**
   * The hub node holding the camera's relay (the cameras view's `node`): the socket asks for
   * `?node=<id>` and HAProxy routes it there (docs/video.md, "Cluster"). A hub that answers
   * RB_ERR_GATEWAY_OFFLINE naming another node replaces it, and the next attempt goes there at once.
   * A function is asked again at each attempt (the view's list is reloaded); a new answer wins.
   */
  node?: string | undefined | (() => string | undefined);
  onStatus: (s: PlayerStatus) => void;
}

/** Errors after which another attempt gives the same answer: stop and say why. */
const FINAL: ReadonlySet<string> = new Set(['RB_ERR_NOT_FOUND', 'RB_ERR_UNAUTHENTICATED', 'RB_ERR_VIDEO_CAP', 'unsupported']);
/** Jump to the live edge when this far behind it (s), landing this far before it. */
const MAX_LAG_S = 1.5;
const EDGE_S = 0.3;
/** Keep this much behind the playhead; remove the rest. */
const KEEP_BEHIND_S = 10;
const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000];
/** Segments waiting for the SourceBuffer beyond this are dropped up to the next one (each starts with a key frame). */
const MAX_QUEUE = 30;
/** No segment for this long on an open stream: the link is dead without saying so; start again. */
const SILENT_MS = 20_000;

export const liveUrl = (node?: string): string =>
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/video/live${node ? `?node=${encodeURIComponent(node)}` : ''}`;

/** Start playing into `video`; returns the stop function (closes the socket, revokes the object URL). */
export function startPlayer(video: HTMLVideoElement, opts: PlayerOptions): () => void {
  let stopped = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let run: Run | undefined;
  let authRetried = false;
  const hint = () => (typeof opts.node === 'function' ? opts.node() : opts.node);
  let lastHint = hint();
  let node = lastHint;
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;

  const status = (s: PlayerStatus) => {
    if (stopped) return;
    try {
      opts.onStatus(s);
    } catch {
      // a view's handler must not break the stream
    }
  };

  const connect = async () => {
    if (stopped) return;
    // A retry keeps saying what went wrong (and that it reconnects) until the stream plays again.
    if (attempt === 0) status({ state: 'connecting', retrying: false });
    // A token about to lapse (a phone woken up): renew it first, the hub checks it once, at `watch`.
    const s = session.value;
    if (s && s.expiresAt < Date.now() + 10_000) await refreshSession().catch(() => false);
    if (stopped) return;
    const h = hint();
    if (h !== lastHint) node = lastHint = h;
    run = new Run(video, { ...opts, node }, {
      playing: () => {
        attempt = 0;
        authRetried = false;
        status({ state: 'playing', retrying: false });
      },
      ended: (err) => {
        run = undefined;
        if (stopped) return;
        // The hub ends a view when the access token it was opened with expires: renew it and watch
        // again, once; refused again right away means signed out for good.
        if (err?.code === 'RB_ERR_UNAUTHENTICATED' && !authRetried) {
          authRetried = true;
          void refreshSession()
            .catch(() => false)
            .then((ok) => (ok ? void connect() : status({ state: 'error', code: err.code, message: err.message, retrying: false })));
          return;
        }
        const final = !!err && FINAL.has(err.code);
        const retrying = !final;
        // The socket landed on a node without the relay, which said where it is: go there at once (once per new hint).
        const moved = err?.code === 'RB_ERR_GATEWAY_OFFLINE' && !!err.node && err.node !== node;
        if (moved) node = err.node;
        status({ state: err ? 'error' : 'offline', ...(err ? { code: err.code, message: err.message } : {}), retrying });
        if (!retrying) return;
        const wait = moved ? 0 : BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
        attempt++;
        timer = setTimeout(() => void connect(), wait);
      },
    });
  };
  void connect();

  return () => {
    stopped = true;
    clearTimeout(timer);
    run?.close();
    run = undefined;
  };
}

interface RunEvents {
  playing(): void;
  /** The socket is gone; `err` when the hub or the browser said why. Called once. */
  ended(err?: { code: VideoErrorCode | 'unsupported'; message: string; node?: string | undefined }): void;
}

/** One socket's life: from `watch` to close. */
class Run {
  private ws: WebSocket;
  private ms: MediaSource | undefined;
  private url: string | undefined;
  private sb: SourceBuffer | undefined;
  private queue: ArrayBuffer[] = [];
  private sawInit = false;
  private done = false;
  private error: { code: VideoErrorCode | 'unsupported'; message: string; node?: string | undefined } | undefined;
  private lastData = Date.now();
  private readonly watchdog = setInterval(() => Date.now() - this.lastData > SILENT_MS && this.finish(), 5_000);
  private readonly onPlaying = () => this.events.playing();
  private readonly onVideoError = () => this.fail({ code: 'RB_ERR_VIDEO_BROKEN', message: this.video.error?.message ?? 'decode error' });

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly opts: PlayerOptions,
    private readonly events: RunEvents,
  ) {
    this.ws = new WebSocket(liveUrl(typeof opts.node === 'string' ? opts.node : undefined));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => {
      const hello: ViewerHello = { t: 'watch', token: session.value?.token ?? '', estate: opts.estate, device: opts.device, quality: opts.quality };
      this.ws.send(JSON.stringify(hello));
    };
    this.ws.onmessage = (e: MessageEvent) => this.guard(() => this.message(e.data as unknown));
    this.ws.onclose = () => this.finish();
    this.ws.onerror = () => this.finish();
    video.addEventListener('playing', this.onPlaying);
    video.addEventListener('error', this.onVideoError);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail({ code: 'RB_ERR_VIDEO_BROKEN', message: (err as Error)?.message ?? String(err) });
    }
  }

  private message(data: unknown): void {
    if (this.done) return;
    if (typeof data === 'string') {
      let m: ViewerMessage;
      try {
        m = JSON.parse(data) as ViewerMessage;
      } catch {
        return;
      }
      if (m.t === 'error') {
        this.error = { code: m.code, message: typeof m.message === 'string' ? m.message : '', ...(typeof m.node === 'string' ? { node: m.node } : {}) };
        this.ws.close();
      } else if (m.t === 'ready') this.ready(m.mime);
      return;
    }
    if (!(data instanceof ArrayBuffer) || !this.ms) return;
    this.lastData = Date.now();
    if (!this.sawInit) this.sawInit = true;
    else if (this.queue.length >= MAX_QUEUE) this.queue.length = 0; // far behind: start again at this segment
    this.queue.push(data);
    this.pump();
  }

  private ready(mime: string): void {
    if (this.ms) return;
    if (typeof MediaSource === 'undefined' || !MediaSource.isTypeSupported(mime)) {
      this.fail({ code: 'unsupported', message: mime });
      return;
    }
    const ms = new MediaSource();
    this.ms = ms;
    this.url = URL.createObjectURL(ms);
    ms.addEventListener(
      'sourceopen',
      () =>
        this.guard(() => {
          if (this.done) return;
          const sb = ms.addSourceBuffer(mime);
          sb.mode = 'segments';
          sb.addEventListener('updateend', () => this.guard(() => this.afterUpdate()));
          this.sb = sb;
          this.pump();
        }),
      { once: true },
    );
    this.video.src = this.url;
  }

  /** Append the next segment, or trim what is long past, whenever the SourceBuffer is idle. */
  private pump(): void {
    const sb = this.sb;
    if (!sb || sb.updating || this.done || this.ms?.readyState !== 'open') return;
    const t = this.video.currentTime;
    if (sb.buffered.length > 0 && t - sb.buffered.start(0) > KEEP_BEHIND_S + 2) {
      sb.remove(0, t - KEEP_BEHIND_S);
      return;
    }
    const next = this.queue.shift();
    if (!next) return;
    try {
      sb.appendBuffer(next);
    } catch (err) {
      if ((err as DOMException)?.name === 'QuotaExceededError' && sb.buffered.length > 0) {
        // Full: drop everything but the last seconds and try again with the next segment.
        sb.remove(0, Math.max(sb.buffered.start(0) + 0.1, t - 2));
        return;
      }
      throw err;
    }
  }

  private afterUpdate(): void {
    const sb = this.sb;
    if (!sb || this.done) return;
    const b = sb.buffered;
    if (b.length > 0) {
      const end = b.end(b.length - 1);
      const t = this.video.currentTime;
      // Behind the live edge (a slow start, a hidden tab, a skipped segment): jump to just before it.
      if (end - t > MAX_LAG_S || t < b.start(0)) this.video.currentTime = Math.max(b.start(b.length - 1), end - EDGE_S);
      if (this.video.paused) void this.video.play().catch(() => undefined);
    }
    this.pump();
  }

  private fail(err: { code: VideoErrorCode | 'unsupported'; message: string }): void {
    this.error ??= err;
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.close();
    this.events.ended(this.error);
  }

  /** Close the socket and let go of the media (no event). */
  close(): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.watchdog);
    this.ws.onopen = this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    try {
      if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close();
    } catch {
      // already closing
    }
    this.video.removeEventListener('playing', this.onPlaying);
    this.video.removeEventListener('error', this.onVideoError);
    this.queue = [];
    this.sb = undefined;
    if (this.url) {
      this.video.removeAttribute('src');
      this.video.load();
      URL.revokeObjectURL(this.url);
      this.url = undefined;
    }
    this.ms = undefined;
  }
}
