import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { VideoSource } from '../../devices/types.js';
import type { RbEvent } from '../../protocol/index.js';
import type { VideoQuality } from '../../protocol/video.js';
import { createUploadSpool } from '../upload-spool.js';
import { startClipRing, type ClipRing, type RingSegment } from './clip-ring.js';

export interface ClipRecorderOptions {
  dataDir: string;
  /** Hub HTTP base URL (config hub.httpUrl). */
  hubUrl: string;
  username: string;
  password: string;
  ffmpeg: string;
  /** Config video.clips.*. */
  quality: VideoQuality;
  beforeMs: number;
  afterMs: number;
  maxPending: number;
  maxSegmentBytes: number;
  startTimeoutMs: number;
  stallTimeoutMs: number;
  /** Cameras some device links (devices[].cameras) and that can stream: each gets a ring. */
  cameras(): string[];
  /** A camera's streams (its driver's `streams()`); undefined when it has none. */
  sources(camera: string, signal: AbortSignal): Promise<VideoSource[]> | undefined;
  log: Logger;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Most clips recorded at once; an alarm past it gets no clip (logged). Default 8. */
  maxRecordings?: number;
  /** Largest clip; its recording ends early at this size. Default 48 MiB. */
  maxClipBytes?: number;
}

export interface ClipStats {
  buffering: number;
  recording: number;
  recorded: number;
  /** Alarms that got no clip from a linked camera, by why. */
  missed: { 'no-video': number; busy: number; 'remux-failed': number };
  pending: number;
}

export interface ClipRecorder {
  start(): void;
  stop(): Promise<void>;
  /** The devices or their camera links changed (config reload): rings follow. */
  camerasChanged(): void;
  /** An alarm-class event from a device linked to `cameras`: record a clip around it from each. Never throws. */
  capture(event: RbEvent, cameras: readonly string[]): void;
  stats(): ClipStats;
  /** ffmpeg pids of the rings (tests). */
  pids(): number[];
}

interface Recording {
  event: RbEvent;
  camera: string;
  /** Undefined until the camera gave video (an alarm while its ring was still coming up). */
  init: Buffer | undefined;
  segments: RingSegment[];
  bytes: number;
  timer?: NodeJS.Timeout;
  /** `after` has passed: the next segment is the last (what the camera saw up to then arrives late). */
  closing: boolean;
  done: boolean;
}

/** How long a closing recording waits for its last segment before it ends without it. */
const LAST_SEGMENT_WAIT_MS = 3_000;

/**
 * Alarm clips (docs/video.md, "Alarm clips"): every camera a device links is pulled continuously into
 * a rolling buffer (clip-ring.ts) of `beforeMs`; an alarm from the device takes that buffer and what
 * comes for `afterMs` more, ffmpeg remuxes it (-c copy, never re-encoded) into one MP4 with its index
 * up front, and the upload spool takes it to the hub (PUT /api/v1/clips/<sha256>) like snapshots.
 */
export function createClipRecorder(o: ClipRecorderOptions): ClipRecorder {
  const { log } = o;
  const rings = new Map<string, ClipRing>();
  const recordings = new Set<Recording>();
  const finishing = new Set<Promise<void>>();
  /** Rings a config reload dropped, still stopping: stop() waits for them too, so no ffmpeg outlives the gateway. */
  const dropping = new Set<Promise<void>>();
  const work = join(o.dataDir, 'clips-work');
  const counters = { recorded: 0, missed: { 'no-video': 0, busy: 0, 'remux-failed': 0 } };
  const maxRecordings = o.maxRecordings ?? 8;
  const maxClipBytes = o.maxClipBytes ?? 48 * 1024 * 1024;
  let running = false;
  const spool = createUploadSpool({
    dataDir: o.dataDir,
    name: 'clips',
    ext: 'mp4',
    contentType: 'video/mp4',
    route: 'api/v1/clips',
    hubUrl: o.hubUrl,
    username: o.username,
    password: o.password,
    log,
    maxPending: o.maxPending,
    uploadTimeoutMs: 120_000,
  });

  function onSegment(camera: string, init: Buffer, seg: RingSegment): void {
    for (const r of recordings) {
      if (r.done || r.camera !== camera) continue;
      r.init ??= init;
      // ffmpeg started over (a new init segment): the rest cannot follow what was recorded.
      if (r.init !== init) {
        finish(r);
        continue;
      }
      r.segments.push(seg);
      r.bytes += seg.bytes.length;
      if (r.closing || r.bytes >= maxClipBytes) finish(r);
    }
  }

  function reconcile(): void {
    if (!running) return;
    const want = new Set(o.cameras());
    for (const [camera, ring] of rings) {
      if (want.has(camera)) continue;
      rings.delete(camera);
      const p = ring
        .stop()
        .catch((err: unknown) => log.warn({ err, camera }, 'clip buffer did not stop cleanly'))
        .finally(() => dropping.delete(p));
      dropping.add(p);
      log.info({ camera }, 'clip buffer stopped: no device links the camera any more');
    }
    for (const camera of want) {
      if (rings.has(camera)) continue;
      rings.set(
        camera,
        startClipRing({
          camera,
          quality: o.quality,
          sources: (signal) => o.sources(camera, signal) ?? Promise.resolve([]),
          ffmpeg: o.ffmpeg,
          maxSegmentBytes: o.maxSegmentBytes,
          startTimeoutMs: o.startTimeoutMs,
          stallTimeoutMs: o.stallTimeoutMs,
          keepMs: o.beforeMs,
          maxBytes: maxClipBytes,
          retryMinMs: o.retryMinMs ?? 2_000,
          retryMaxMs: o.retryMaxMs ?? 60_000,
          log,
          onSegment: (init, seg) => onSegment(camera, init, seg),
        }),
      );
      log.info({ camera, quality: o.quality, beforeMs: o.beforeMs }, 'clip buffer started');
    }
  }

  function finish(r: Recording): void {
    if (r.done) return;
    r.done = true;
    clearTimeout(r.timer);
    recordings.delete(r);
    const p = write(r)
      .catch((err: unknown) => log.error({ err, event: r.event.id, camera: r.camera }, 'clip not written'))
      .finally(() => finishing.delete(p));
    finishing.add(p);
  }

  async function write(r: Recording): Promise<void> {
    const first = r.segments[0];
    const last = r.segments[r.segments.length - 1];
    if (!first || !last || !r.init) {
      counters.missed['no-video']++;
      log.warn({ event: r.event.id, camera: r.camera }, 'no clip: the camera sent no video around the alarm');
      return;
    }
    const fragmented = Buffer.concat([r.init, ...r.segments.map((s) => s.bytes)]);
    let bytes: Buffer;
    try {
      bytes = await remux(fragmented, `${r.event.id}-${r.camera}`);
    } catch (err) {
      // The fragmented MP4 itself plays in browsers: better that than no clip.
      counters.missed['remux-failed']++;
      log.warn({ event: r.event.id, camera: r.camera, err: (err as Error).message }, 'clip remux failed; the fragmented clip is kept as it is');
      bytes = fragmented;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const query = { event: r.event.id, device: r.event.device, camera: r.camera, startedAt: String(first.at), endedAt: String(last.at) };
    spool.add({ key: `${r.event.id}/${r.camera}`, sha256, query }, bytes);
    counters.recorded++;
    log.info({ event: r.event.id, camera: r.camera, bytes: bytes.length, segments: r.segments.length, sha256 }, 'alarm clip recorded');
  }

  /** ffmpeg -c copy from fragmented MP4 to one MP4 with its index first (`+faststart`): plays and seeks anywhere. */
  function remux(input: Buffer, name: string): Promise<Buffer> {
    mkdirSync(work, { recursive: true });
    const out = join(work, `${name}.mp4`);
    return new Promise<Buffer>((resolve, reject) => {
      const child = spawn(o.ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'mp4', '-i', 'pipe:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', out], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-2_000)));
      child.stdin!.on('error', () => undefined); // ffmpeg gave up early: its exit code says why
      child.on('error', (err) => {
        clearTimeout(killer);
        reject(err);
      });
      child.on('close', (code) => {
        clearTimeout(killer);
        try {
          if (code !== 0) throw new Error(`ffmpeg exit ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
          resolve(readFileSync(out));
        } catch (err) {
          reject(err as Error);
        } finally {
          rmSync(out, { force: true });
        }
      });
      child.stdin!.end(input);
    });
  }

  return {
    start() {
      running = true;
      spool.start();
      reconcile();
    },
    async stop() {
      running = false;
      for (const r of [...recordings]) finish(r);
      await Promise.all([...rings.values()].map((r) => r.stop()));
      rings.clear();
      await Promise.all([...dropping]);
      await Promise.all([...finishing]);
      await spool.stop();
    },
    camerasChanged: reconcile,
    capture(event, cameras) {
      for (const camera of cameras) {
        const ring = rings.get(camera);
        if (!ring) continue; // not a streaming camera (snapshots only), or clips are off
        if (recordings.size >= maxRecordings) {
          counters.missed.busy++;
          log.warn({ event: event.id, camera, maxRecordings }, 'no clip: too many clips being recorded at once');
          continue;
        }
        const held = ring.snapshot();
        const segments = held?.segments ?? [];
        const r: Recording = { event, camera, init: held?.init, segments, bytes: segments.reduce((n, s) => n + s.bytes.length, 0), closing: false, done: false };
        r.timer = setTimeout(() => {
          r.closing = true;
          r.timer = setTimeout(() => finish(r), LAST_SEGMENT_WAIT_MS);
        }, o.afterMs);
        recordings.add(r);
        log.info({ event: event.id, camera, preRollSegments: r.segments.length }, 'alarm clip recording');
      }
    },
    stats: () => ({ buffering: rings.size, recording: recordings.size, ...counters, missed: { ...counters.missed }, pending: spool.pending() }),
    pids: () => [...rings.values()].flatMap((r) => (r.pid() === undefined ? [] : [r.pid()!])),
  };
}
