import type { Logger } from 'pino';
import type { VideoSource } from '../../devices/types.js';
import type { VideoQuality } from '../../protocol/video.js';
import { backoffDelay } from '../uplink.js';
import { startPuller, type Puller } from './puller.js';
import { redactUrl } from './secrets.js';

/** One media segment as it arrived (each starts with a key frame: docs/video.md). */
export interface RingSegment {
  at: number;
  bytes: Buffer;
}

export interface ClipRingOptions {
  camera: string;
  quality: VideoQuality;
  /** The camera's streams now (its driver's `streams()`). */
  sources(signal: AbortSignal): Promise<VideoSource[]>;
  ffmpeg: string;
  maxSegmentBytes: number;
  startTimeoutMs: number;
  stallTimeoutMs: number;
  /** How far back the ring reaches (the clip's pre-roll). */
  keepMs: number;
  /** Most bytes the ring holds; past it the oldest segment goes whatever its age. */
  maxBytes: number;
  retryMinMs: number;
  retryMaxMs: number;
  log: Logger;
  /** Every media segment, after the ring took it (recordings listen here). */
  onSegment(init: Buffer, segment: RingSegment): void;
}

export interface ClipRing {
  readonly camera: string;
  /** The init segment of what the ring holds, and its segments oldest first (a copy). */
  snapshot(): { init: Buffer; segments: RingSegment[] } | undefined;
  /** ffmpeg's pid while pulling (tests). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * The rolling buffer of one camera for alarm clips (docs/video.md, "Alarm clips"): one ffmpeg pull
 * (puller.ts, the same remux as live view) that runs as long as the ring does, keeping the last
 * `keepMs` of fragmented-MP4 segments in memory, bounded by `maxBytes`. A stream that ends is pulled
 * again with backoff; one that needs ffmpeg's full probe gets it on the next try.
 */
export function startClipRing(o: ClipRingOptions): ClipRing {
  let init: Buffer | undefined;
  let segments: RingSegment[] = [];
  let held = 0;
  let puller: Puller | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let fullProbe = false;
  let stopped = false;
  let failing = false;
  const abort = new AbortController();

  function trim(now: number): void {
    // Keep the newest segment that starts at or before the window's start: the clip then covers it all.
    while (segments.length > 1 && segments[1]!.at <= now - o.keepMs) held -= segments.shift()!.bytes.length;
    while (held > o.maxBytes && segments.length > 1) held -= segments.shift()!.bytes.length;
  }

  function retry(): void {
    if (stopped) return;
    timer = setTimeout(() => void pull(), backoffDelay(attempt++, o.retryMinMs, o.retryMaxMs));
    timer.unref();
  }

  async function pull(): Promise<void> {
    timer = undefined;
    let source: VideoSource | undefined;
    try {
      const all = await o.sources(AbortSignal.any([abort.signal, AbortSignal.timeout(5_000)]));
      source = all.find((s) => s.quality === o.quality) ?? all.find((s) => s.quality === 'main') ?? all[0];
    } catch (err) {
      if (stopped) return;
      if (!failing) o.log.warn({ camera: o.camera, err: redactUrl((err as Error).message) }, 'clip buffer: the camera cannot say its streams; retrying');
      failing = true;
      return retry();
    }
    if (stopped) return;
    if (!source) {
      o.log.warn({ camera: o.camera }, 'clip buffer: the camera lists no stream; no clips from it');
      return;
    }
    const started = Date.now();
    let opened = false;
    const p = startPuller({
      ffmpeg: o.ffmpeg,
      source,
      maxSegmentBytes: o.maxSegmentBytes,
      quickProbe: !fullProbe,
      startTimeoutMs: o.startTimeoutMs,
      stallTimeoutMs: o.stallTimeoutMs,
      log: o.log,
      onOpened(_info, bytes) {
        opened = true;
        if (failing) o.log.info({ camera: o.camera }, 'clip buffer: the camera streams again');
        failing = false;
        // A new pull has its own init segment: what the ring held before does not follow it.
        init = bytes;
        segments = [];
        held = 0;
      },
      onMedia(bytes) {
        const seg = { at: Date.now(), bytes };
        segments.push(seg);
        held += bytes.length;
        trim(seg.at);
        o.onSegment(init!, seg);
      },
      onEnd(end) {
        if (stopped) return;
        if (!opened && end.fullProbe) fullProbe = true;
        // Said once per outage; the retries that follow at debug.
        if (failing) o.log.debug({ camera: o.camera, code: end.code, message: end.message }, 'clip buffer: pull ended again');
        else o.log.warn({ camera: o.camera, code: end.code, message: end.message }, 'clip buffer: the pull ended; retrying with backoff');
        failing = true;
        if (Date.now() - started > 30_000) attempt = 0;
        void p.exited.then(() => {
          if (puller === p) puller = undefined;
          retry();
        });
      },
    });
    puller = p;
  }

  void pull();

  return {
    camera: o.camera,
    snapshot() {
      if (!init) return undefined;
      trim(Date.now());
      return { init, segments: [...segments] };
    },
    pid: () => puller?.pid,
    async stop() {
      stopped = true;
      abort.abort();
      clearTimeout(timer);
      segments = [];
      await puller?.stop();
    },
  };
}
