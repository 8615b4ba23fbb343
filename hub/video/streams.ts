import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { FRAME_INIT, FRAME_MEDIA, decodeRelayFrame, type RelayHello, type RelayToGateway, type VideoErrorCode, type VideoQuality, type ViewerMessage } from '../../protocol/video.js';
import type { VideoMetrics } from './metrics.js';

/** A gateway's relay link as the streams see it (hub/video/relay.ts owns the socket). */
export interface RelayLink {
  readonly estate: string;
  readonly gateway: string;
  hello?: RelayHello;
  send(msg: RelayToGateway): void;
  close(code: number, reason: string): void;
}

/** A viewer's socket as the streams see it (hub/video/viewer.ts owns it). */
export interface ViewerSink {
  /** `user:<id>` or `system`, for the audit entry. */
  readonly actor: string;
  sendJson(msg: ViewerMessage): void;
  sendBinary(bytes: Uint8Array): void;
  /** Bytes queued in the socket, not yet sent. */
  buffered(): number;
  close(code: number, reason: string): void;
}

export interface Target {
  estate: string;
  gateway: string;
  device: string;
  quality: VideoQuality;
}

interface Viewer {
  sink: ViewerSink;
  stream: Stream;
  since: number;
  bytes: number;
  /** ready sent; init sent (media goes only to a viewer that has the init segment). */
  ready: boolean;
  init: boolean;
}

interface Stream extends Target {
  sid: string;
  link: RelayLink;
  createdAt: number;
  viewers: Set<Viewer>;
  opened?: { mime: string; width?: number | undefined; height?: number | undefined };
  init?: Buffer;
  openTimer?: NodeJS.Timeout | undefined;
  lingerTimer?: NodeJS.Timeout | undefined;
}

export interface StreamLimits {
  lingerMs: number;
  openTimeoutMs: number;
  maxViewersPerStream: number;
  maxStreamsPerEstate: number;
  maxBytesPerSecondPerEstate: number;
  maxViewerBufferBytes: number;
}

export interface StreamsDeps {
  limits: StreamLimits;
  metrics: VideoMetrics;
  log: Logger;
  /** A view ended: audit it (hub/video/index.ts). */
  onViewEnd(view: { actor: string; target: Target; durationMs: number; bytes: number }): void;
  now?: () => number;
}

export type Refusal = { code: VideoErrorCode; message: string };

const WINDOW_S = 5;

/** Bytes in over the last WINDOW_S seconds, in one-second buckets. */
class RateWindow {
  private buckets = new Array<number>(WINDOW_S).fill(0);
  private sec = 0;
  private roll(nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    if (s <= this.sec) return;
    if (s - this.sec >= WINDOW_S) this.buckets.fill(0);
    else for (let k = this.sec + 1; k <= s; k++) this.buckets[k % WINDOW_S] = 0;
    this.sec = s;
  }
  add(n: number, nowMs: number): void {
    this.roll(nowMs);
    this.buckets[this.sec % WINDOW_S]! += n;
  }
  perSecond(nowMs: number): number {
    this.roll(nowMs);
    return this.buckets.reduce((a, b) => a + b, 0) / WINDOW_S;
  }
}

const cap = (key: string, what: string): Refusal => ({ code: 'RB_ERR_VIDEO_CAP', message: `${what} (video.${key})` });

/**
 * One stream per (estate, gateway, device, quality), pulled from the gateway's relay link only while
 * watched (docs/video.md): the first viewer opens it, the last one leaving closes it after the linger.
 * The init segment is kept for viewers who join later; media segments are forwarded as they come, never
 * waiting for a slow viewer.
 */
export function createStreams(deps: StreamsDeps) {
  const { limits, metrics, log } = deps;
  const now = deps.now ?? (() => Date.now());
  const links = new Map<string, RelayLink>();
  const streams = new Map<string, Stream>();
  const bySid = new Map<string, Stream>();
  const rates = new Map<string, RateWindow>();
  /** Estate → when its rate cap last stopped a stream (one stop per window, so one burst stops one stream). */
  const rateStops = new Map<string, number>();
  let viewerCount = 0;

  const linkKey = (estate: string, gateway: string) => `${estate}/${gateway}`;
  const streamKey = (t: Target) => `${t.estate}/${t.gateway}/${t.device}/${t.quality}`;
  const rateOf = (estate: string) => {
    let r = rates.get(estate);
    if (!r) rates.set(estate, (r = new RateWindow()));
    return r;
  };
  const estateStreams = (estate: string) => [...streams.values()].filter((s) => s.estate === estate);

  function detachViewer(v: Viewer): void {
    const s = v.stream;
    if (!s.viewers.delete(v)) return;
    viewerCount--;
    deps.onViewEnd({ actor: v.sink.actor, target: { estate: s.estate, gateway: s.gateway, device: s.device, quality: s.quality }, durationMs: now() - v.since, bytes: v.bytes });
    if (s.viewers.size === 0 && streams.get(streamKey(s)) === s && !s.lingerTimer) {
      s.lingerTimer = setTimeout(() => endStream(s, null, true), limits.lingerMs);
      s.lingerTimer.unref();
    }
  }

  /** End a viewer: tell it why (unless it left by itself), close its socket, audit the view. */
  function endViewer(v: Viewer, why: Refusal | null): void {
    if (why) {
      metrics.refusals.inc({ code: why.code });
      v.sink.sendJson({ t: 'error', code: why.code, message: why.message });
      v.sink.close(why.code === 'RB_ERR_UNAVAILABLE' ? 1001 : 1000, why.code);
    }
    detachViewer(v);
  }

  /** Forget a stream; `why` goes to its viewers; `tellGateway` sends `close` over its link. */
  function endStream(s: Stream, why: Refusal | null, tellGateway: boolean): void {
    if (streams.get(streamKey(s)) !== s) return;
    streams.delete(streamKey(s));
    bySid.delete(s.sid);
    clearTimeout(s.openTimer);
    clearTimeout(s.lingerTimer);
    if (tellGateway) s.link.send({ t: 'close', sid: s.sid });
    for (const v of [...s.viewers]) endViewer(v, why ?? { code: 'RB_ERR_VIDEO_BROKEN', message: 'the stream ended' });
    log.debug({ estate: s.estate, gateway: s.gateway, device: s.device, quality: s.quality, sid: s.sid, why: why?.code }, 'video stream ended');
  }

  function sendReady(v: Viewer): void {
    const s = v.stream;
    if (!v.ready && s.opened) {
      v.ready = true;
      v.sink.sendJson({ t: 'ready', mime: s.opened.mime, ...(s.opened.width ? { width: s.opened.width } : {}), ...(s.opened.height ? { height: s.opened.height } : {}) });
    }
    if (v.ready && !v.init && s.init) {
      v.init = true;
      send(v, s.init);
    }
  }

  function send(v: Viewer, bytes: Buffer): void {
    v.sink.sendBinary(bytes);
    v.bytes += bytes.length;
    metrics.bytes.inc({ direction: 'out' }, bytes.length);
  }

  return {
    viewers: () => viewerCount,
    streams: () => streams.size,
    links: () => links.size,
    /** The relay link of a gateway on this node, if up. */
    link: (estate: string, gateway: string): RelayLink | undefined => links.get(linkKey(estate, gateway)),
    linksOf: (estate: string): RelayLink[] => [...links.values()].filter((l) => l.estate === estate),

    /** A gateway's link is up; one it replaces is closed (its streams end, the viewers retry). */
    linkUp(link: RelayLink): void {
      const old = links.get(linkKey(link.estate, link.gateway));
      links.set(linkKey(link.estate, link.gateway), link);
      if (old) {
        this.linkDown(old);
        old.close(4000, 'replaced by a newer relay link');
      }
    },
    /** A link dropped: its streams end with RB_ERR_GATEWAY_OFFLINE. */
    linkDown(link: RelayLink): void {
      if (links.get(linkKey(link.estate, link.gateway)) === link) links.delete(linkKey(link.estate, link.gateway));
      for (const s of [...streams.values()]) if (s.link === link) endStream(s, { code: 'RB_ERR_GATEWAY_OFFLINE', message: `gateway ${link.gateway} lost its relay link` }, false);
    },

    /** Add a viewer to the target's stream, opening it if needed; a refusal is returned (and counted), nothing sent. */
    watch(sink: ViewerSink, t: Target): { leave(): void; end(why: Refusal): void } | Refusal {
      const refuse = (r: Refusal) => (metrics.refusals.inc({ code: r.code }), r);
      const link = links.get(linkKey(t.estate, t.gateway));
      if (!link) return refuse({ code: 'RB_ERR_GATEWAY_OFFLINE', message: `gateway ${t.gateway} has no relay link to this hub node` });
      let s = streams.get(streamKey(t));
      if (s && s.viewers.size >= limits.maxViewersPerStream) return refuse(cap('maxViewersPerStream', `${limits.maxViewersPerStream} viewers already watch this camera`));
      if (!s) {
        if (estateStreams(t.estate).length >= limits.maxStreamsPerEstate) return refuse(cap('maxStreamsPerEstate', `${limits.maxStreamsPerEstate} cameras of this estate are already relayed`));
        if (rateOf(t.estate).perSecond(now()) > limits.maxBytesPerSecondPerEstate) return refuse(cap('maxBytesPerSecondPerEstate', `this estate already relays over ${limits.maxBytesPerSecondPerEstate} bytes/s`));
        const sid = randomBytes(12).toString('base64url');
        s = { ...t, sid, link, createdAt: now(), viewers: new Set() };
        const opening = s;
        s.openTimer = setTimeout(() => endStream(opening, { code: 'RB_ERR_CAMERA_UNREACHABLE', message: `the gateway did not start the stream within ${limits.openTimeoutMs} ms (video.openTimeout)` }, true), limits.openTimeoutMs);
        s.openTimer.unref();
        streams.set(streamKey(t), s);
        bySid.set(sid, s);
        link.send({ t: 'open', sid, device: t.device, quality: t.quality });
      }
      clearTimeout(s.lingerTimer);
      s.lingerTimer = undefined;
      const v: Viewer = { sink, stream: s, since: now(), bytes: 0, ready: false, init: false };
      s.viewers.add(v);
      viewerCount++;
      sendReady(v);
      return { leave: () => detachViewer(v), end: (why) => endViewer(v, why) };
    },

    /** A text message from a relay link (already parsed and checked by relay.ts). */
    opened(link: RelayLink, msg: { sid: string; mime: string; width?: number | undefined; height?: number | undefined }): void {
      const s = bySid.get(msg.sid);
      if (!s || s.link !== link) return void metrics.dropped.inc({ reason: 'unknown-sid' });
      clearTimeout(s.openTimer);
      s.openTimer = undefined;
      s.opened = { mime: msg.mime, width: msg.width, height: msg.height };
      for (const v of s.viewers) sendReady(v);
    },
    relayError(link: RelayLink, msg: { sid: string; code: VideoErrorCode; message: string }): void {
      const s = bySid.get(msg.sid);
      if (!s || s.link !== link) return void metrics.dropped.inc({ reason: 'unknown-sid' });
      endStream(s, { code: msg.code, message: msg.message }, false);
    },

    /** A binary frame from a relay link. */
    frame(link: RelayLink, data: Buffer): void {
      const f = decodeRelayFrame(data);
      if (!f) return void metrics.dropped.inc({ reason: 'malformed' });
      const s = bySid.get(f.sid);
      if (!s || s.link !== link) return void metrics.dropped.inc({ reason: 'unknown-sid' });
      metrics.bytes.inc({ direction: 'in' }, data.length);
      const t = now();
      const rate = rateOf(s.estate);
      rate.add(data.length, t);
      const segment = Buffer.from(f.segment.buffer, f.segment.byteOffset, f.segment.byteLength);
      if (f.kind === FRAME_INIT) {
        if (!s.opened) return void metrics.dropped.inc({ reason: 'init-before-opened' });
        s.init = segment;
        for (const v of s.viewers) sendReady(v);
        return;
      }
      if (f.kind !== FRAME_MEDIA || !s.init) return void metrics.dropped.inc({ reason: 'media-before-init' });
      for (const v of s.viewers) {
        if (!v.init) continue;
        if (v.sink.buffered() > limits.maxViewerBufferBytes) {
          metrics.skipped.inc();
          continue;
        }
        send(v, segment);
      }
      if (rate.perSecond(t) > limits.maxBytesPerSecondPerEstate && t - (rateStops.get(s.estate) ?? -Infinity) >= WINDOW_S * 1000) {
        const newest = estateStreams(s.estate).sort((a, b) => b.createdAt - a.createdAt)[0];
        if (newest) {
          rateStops.set(s.estate, t);
          log.warn({ estate: s.estate, device: newest.device, bytesPerSecond: Math.round(rate.perSecond(t)) }, 'video: estate over its byte rate, newest stream stopped');
          endStream(newest, cap('maxBytesPerSecondPerEstate', `this estate relays over ${limits.maxBytesPerSecondPerEstate} bytes/s`), true);
        }
      }
    },

    /** The hub stops: every viewer is told RB_ERR_UNAVAILABLE. */
    stopAll(): void {
      for (const s of [...streams.values()]) endStream(s, { code: 'RB_ERR_UNAVAILABLE', message: 'the hub is stopping; reconnect' }, true);
    },
  };
}

export type Streams = ReturnType<typeof createStreams>;
