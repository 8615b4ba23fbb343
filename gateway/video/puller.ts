import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { VideoSource } from '../../devices/types.js';
import { avcMime, Fmp4Error, fmp4Splitter } from '../../lib/fmp4.js';
import type { VideoErrorCode } from '../../protocol/video.js';
import { redactor, rtspUrlWithLogin } from './secrets.js';

/** Why a stream ended by itself (never called when it was stopped on request). */
export interface StreamEnd {
  code: VideoErrorCode;
  /** One line for the hub and the log; redacted (never a credential). */
  message: string;
  /**
   * The quick probe found no codec parameters (some line of ffmpeg's stderr says so, `needsFullProbe`;
   * ffmpeg 5.1's last line is only "Error initializing output stream 0:0 --"): a full probe may play.
   */
  fullProbe?: boolean;
}

export interface PullerOptions {
  /** The ffmpeg program (config video.ffmpeg). */
  ffmpeg: string;
  source: VideoSource;
  /** Largest MP4 box accepted (config video.maxSegmentBytes). */
  maxSegmentBytes: number;
  /**
   * Probe the stream briefly (`-probesize 32768 -analyzeduration 0`): the picture comes ~0.6 s sooner
   * when the camera's RTSP description carries the H.264 parameter sets, as ONVIF cameras' do. A
   * camera whose does not fails with a "codec parameters" error (`needsFullProbe`): pull it again
   * without this.
   */
  quickProbe?: boolean;
  /** No init segment this long after the start: the stream ends (RB_ERR_CAMERA_UNREACHABLE). */
  startTimeoutMs: number;
  /** No byte from ffmpeg this long once it runs: the stream ends (RB_ERR_VIDEO_BROKEN). */
  stallTimeoutMs: number;
  log: Logger;
  /** The stream runs: its MediaSource type, its size when the init segment says it, the init segment. */
  onOpened(info: { mime: string; width?: number; height?: number }, init: Buffer): void;
  onMedia(segment: Buffer): void;
  /** Called once when the stream ends by itself (at once: ffmpeg may still be on its way out; see `exited`). */
  onEnd(end: StreamEnd): void;
}

export interface Puller {
  /** ffmpeg's process id (for tests and logs); undefined when it could not be started. */
  readonly pid: number | undefined;
  /** Bytes read from ffmpeg so far. */
  bytes(): number;
  /** Stop: SIGTERM, SIGKILL after 2 s; resolves once the process is reaped. No onEnd after it. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once ffmpeg has exited and been reaped, however the stream ended. */
  readonly exited: Promise<void>;
}

const KILL_AFTER_MS = 2_000;
/** ffmpeg's stderr kept to name the failure: its last line, from at most this many bytes. */
const STDERR_KEEP = 4_096;

/** The ffmpeg arguments of one stream (docs/video.md): RTSP over TCP, video only, remuxed (-c copy) to fragmented MP4 on stdout. */
export function ffmpegArgs(url: string, timeoutMs: number, quickProbe = false): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-rtsp_transport', 'tcp', '-timeout', String(Math.max(1, Math.round(timeoutMs)) * 1000),
    ...(quickProbe ? ['-probesize', '32768', '-analyzeduration', '0'] : []),
    '-i', url,
    '-map', '0:v:0', '-c', 'copy', '-an',
    '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', 'pipe:1',
  ];
}

/** Whether a stream that ended before its first picture with `message` may play when probed fully (see quickProbe). */
export function needsFullProbe(message: string): boolean {
  return /could not find codec parameters|unspecified (size|pixel format)|dimensions not set|could not write header/i.test(message);
}

/**
 * One watched stream: one ffmpeg child pulling the camera's RTSP and remuxing it (never re-encoding)
 * into fragmented MP4, cut into segments here with lib/fmp4.ts. The camera's bytes are parsed by
 * ffmpeg in its own process; the gateway only reads box headers, with every box capped, so a hostile
 * camera costs at most one segment of memory and no event-loop time.
 */
export function startPuller(o: PullerOptions): Puller {
  const redact = redactor(o.source.password);
  const splitter = fmp4Splitter(o.maxSegmentBytes);
  let ended = false;
  let stopping = false;
  let opened = false;
  let total = 0;
  let stderrTail = '';
  let watchdog: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let failure: StreamEnd | undefined;
  let resolveExited!: () => void;
  const exited = new Promise<void>((resolve) => (resolveExited = resolve));

  const arm = (ms: number, end: StreamEnd): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => fail(end), ms);
  };
  const stallEnd = (): StreamEnd => ({ code: 'RB_ERR_VIDEO_BROKEN', message: `the camera sent nothing for ${o.stallTimeoutMs} ms` });

  /** End the stream for `end` (the first reason wins): say so now, then stop ffmpeg. */
  function fail(end: StreamEnd): void {
    if (failure || stopping) return;
    failure = { code: end.code, message: redact(end.message) };
    report();
    kill();
  }

  let reported = false;
  function report(): void {
    if (reported || !failure || stopping) return;
    reported = true;
    o.onEnd(failure);
  }

  function kill(): void {
    clearTimeout(watchdog);
    // Read no more: a camera's 50 MB frame still in the pipe would otherwise flow through the gateway in
    // 64 KiB chunks only to be dropped (+24 MiB of peak RSS, measured); ffmpeg gets EPIPE instead.
    child.stdout?.destroy();
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  }

  let url: string;
  try {
    url = rtspUrlWithLogin(o.source.uri, o.source.username, o.source.password);
  } catch (err) {
    failure = { code: 'RB_ERR_CAMERA_UNREACHABLE', message: redact((err as Error).message) };
    queueMicrotask(() => finish());
    return { pid: undefined, bytes: () => 0, stop: async () => undefined, exited: Promise.resolve() };
  }

  // ffmpeg's own socket timeout is only a backstop, later than ours: a stall is ours to name (VIDEO_BROKEN).
  const child: ChildProcess = spawn(o.ffmpeg, ffmpegArgs(url, Math.max(o.startTimeoutMs, o.stallTimeoutMs) + 5_000, o.quickProbe === true), { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  o.log.debug({ pid, uri: redact(o.source.uri), quality: o.source.quality }, 'ffmpeg started');
  arm(o.startTimeoutMs, { code: 'RB_ERR_CAMERA_UNREACHABLE', message: 'no picture from the camera within video.startTimeout' });

  child.on('error', (err: NodeJS.ErrnoException) => {
    // spawn failed (no such program): no 'close' follows a failed spawn, so finish here.
    const message = err.code === 'ENOENT' ? `ffmpeg not found (video.ffmpeg "${o.ffmpeg}")` : `ffmpeg failed: ${err.message}`;
    o.log.error({ err: redact(err.message) }, message);
    if (!failure && !stopping) failure = { code: 'RB_ERR_CAMERA_UNREACHABLE', message };
    if (pid === undefined) finish();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_KEEP);
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    if (failure || stopping) return;
    total += chunk.length;
    if (opened) arm(o.stallTimeoutMs, stallEnd());
    let segments;
    try {
      segments = splitter.push(chunk);
    } catch (err) {
      // Whatever the bytes did, the stream stops and the gateway goes on.
      if (!(err instanceof Fmp4Error)) o.log.error({ err }, 'video segment splitter failed');
      return fail({ code: 'RB_ERR_VIDEO_BROKEN', message: `the stream is not usable: ${(err as Error).message}` });
    }
    for (const s of segments) {
      if (failure || stopping) return;
      if (s.kind === 'init') {
        const mime = avcMime(s.bytes);
        if (!mime) return fail({ code: 'RB_ERR_CAMERA_UNREACHABLE', message: 'the camera does not send H.264' });
        opened = true;
        arm(o.stallTimeoutMs, stallEnd());
        o.onOpened({ mime, ...(trackSize(s.bytes) ?? sizeOf(o.source)) }, s.bytes);
      } else {
        o.onMedia(s.bytes);
      }
    }
  });
  child.on('close', (code, signal) => {
    if (!failure && !stopping) {
      const last = lastLine(stderrTail);
      failure = {
        code: 'RB_ERR_CAMERA_UNREACHABLE',
        message: redact(last ? `ffmpeg: ${last}` : `ffmpeg ended (${signal ?? `exit ${code}`}) ${opened ? 'while streaming' : 'before the first picture'}`),
        ...(o.quickProbe && !opened && needsFullProbe(stderrTail) ? { fullProbe: true } : {}),
      };
    }
    finish();
  });

  function finish(): void {
    if (ended) return;
    ended = true;
    clearTimeout(watchdog);
    clearTimeout(killTimer);
    resolveExited();
    report();
  }

  return {
    pid,
    bytes: () => total,
    exited,
    async stop() {
      stopping = true;
      kill();
      await exited;
    },
  };
}

/** ffmpeg's last line that says something: not a trailer with nothing after its "--" ("Error initializing output stream 0:0 --"). */
function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.endsWith('--'));
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

function sizeOf(s: VideoSource): { width?: number; height?: number } {
  return s.width && s.height ? { width: s.width, height: s.height } : {};
}

/** The picture size the init segment's track header (`moov/trak/tkhd`, 16.16 fixed point) gives, or null. */
export function trackSize(init: Buffer): { width: number; height: number } | null {
  const find = (from: number, to: number, type: string): [number, number] | null => {
    for (let at = from; at + 8 <= to; ) {
      const size = init.readUInt32BE(at);
      if (size < 8 || at + size > to) return null;
      if (init.toString('latin1', at + 4, at + 8) === type) return [at + 8, at + size];
      at += size;
    }
    return null;
  };
  const moov = find(0, init.length, 'moov');
  const trak = moov && find(moov[0], moov[1], 'trak');
  const tkhd = trak && find(trak[0], trak[1], 'tkhd');
  if (!tkhd || tkhd[1] - tkhd[0] < 84) return null;
  const width = init.readUInt32BE(tkhd[1] - 8) >>> 16;
  const height = init.readUInt32BE(tkhd[1] - 4) >>> 16;
  return width > 0 && height > 0 ? { width, height } : null;
}
