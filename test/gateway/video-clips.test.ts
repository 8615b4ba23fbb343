import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspSimulator, type RtspSimulator } from '../../devices/onvif-camera/rtsp-sim.js';
import { createClipRecorder, type ClipRecorder } from '../../gateway/video/clips.js';
import { createLogger } from '../../lib/log.js';
import type { RbEvent } from '../../protocol/index.js';
import { blockSize, readClock } from '../../protocol/video-clock.js';
import { waitFor } from '../support/hub.js';
import { childrenNamed } from '../support/rtsp-camera.js';

/**
 * The alarm-clip recorder against the simulator's real RTSP (GStreamer, the clock in every frame) and a
 * local HTTP server standing in for the hub's upload route: the clip holds `before` of video ahead of
 * the alarm (read from the clock burnt into its first frame) and `after` past it, is one MP4 ffprobe
 * reads as H.264, and survives the hub refusing it for a while (the spool retries).
 */
const BEFORE_MS = 2_000;
const AFTER_MS = 2_000;
const LOGIN = { username: 'gw', password: 'gw-secret' };

interface Upload {
  status: number;
  url: URL;
  auth: string | undefined;
  type: string | undefined;
  body: Buffer;
}

let rtsp: RtspSimulator;
let hub: Server;
let hubUrl: string;
let recorder: ClipRecorder;
const uploads: Upload[] = [];
/** The hub answers 503 to this many uploads first. */
let refuse = 1;
const dir = mkdtempSync(join(tmpdir(), 'rb-clips-'));

const event = (id: string, ts: number): RbEvent =>
  ({ v: 1, id, estate: 'e1', gateway: 'gw1', device: 'gate-1', type: 'door.forced', ts, seq: 1, data: {} }) as unknown as RbEvent;

/** The clock burnt into frame `at` ('first' or 'last') of an MP4 file, ms. */
function clockOf(file: string, at: 'first' | 'last'): number | null {
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', file]).toString()) as { streams: Array<{ width: number; height: number }> };
  const { width } = probe.streams[0]!;
  const h = blockSize(width);
  const args = at === 'first' ? ['-i', file, '-frames:v', '1'] : ['-sseof', '-0.3', '-i', file, '-update', '1', '-frames:v', '1'];
  const raw = execFileSync('ffmpeg', ['-v', 'error', ...args, '-vf', `crop=${width}:${h}:0:0`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { maxBuffer: 64 * 1024 * 1024 });
  return readClock(raw, width, h);
}

beforeAll(async () => {
  rtsp = await startRtspSimulator();
  hub = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const status = refuse-- > 0 ? 503 : 201;
      uploads.push({ status, url: new URL(req.url ?? '/', 'http://hub'), auth: req.headers.authorization, type: req.headers['content-type'], body: Buffer.concat(parts) });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubUrl = `http://127.0.0.1:${(hub.address() as { port: number }).port}`;
  recorder = createClipRecorder({
    dataDir: dir,
    hubUrl,
    ...LOGIN,
    ffmpeg: 'ffmpeg',
    quality: 'sub',
    beforeMs: BEFORE_MS,
    afterMs: AFTER_MS,
    maxPending: 10,
    maxSegmentBytes: 8 * 1024 * 1024,
    startTimeoutMs: 8_000,
    stallTimeoutMs: 5_000,
    retryMinMs: 200,
    retryMaxMs: 1_000,
    cameras: () => ['cam-1'],
    sources: () => Promise.resolve([{ quality: 'main', uri: rtsp.url('/main'), ptz: false }, { quality: 'sub', uri: rtsp.url('/sub'), ptz: false }]),
    log: createLogger({ name: 'clips-test', level: 'warn' }),
  });
  recorder.start();
}, 30_000);

afterAll(async () => {
  await recorder?.stop();
  expect(childrenNamed('ffmpeg')).toEqual([]);
  await rtsp?.stop();
  await new Promise((r) => hub?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('alarm clips at the gateway', () => {
  it('buffers the linked camera all along (one RTSP session, the sub-stream)', async () => {
    expect(await waitFor(() => rtsp.sessions() === 1, 15_000)).toBe(true);
    expect(recorder.stats()).toMatchObject({ buffering: 1, recording: 0 });
    expect(recorder.pids()).toHaveLength(1);
  });

  it('an alarm gets a clip from before it to after it, uploaded (retried past a refusal) as one H.264 MP4', async () => {
    // Let the ring fill past its window.
    await new Promise((r) => setTimeout(r, BEFORE_MS + 1_500));
    const alarmAt = Date.now();
    recorder.capture(event('01JCLIPTEST000000000000001', alarmAt), ['cam-1', 'gate-2']);
    expect(recorder.stats().recording).toBe(1); // gate-2 has no ring: no clip from it
    expect(await waitFor(() => uploads.some((u) => u.status === 201), AFTER_MS + 15_000)).toBe(true);
    expect(uploads.map((u) => u.status)).toEqual([503, 201]);
    const up = uploads[1]!;
    const sha = createHash('sha256').update(up.body).digest('hex');
    expect(up.url.pathname).toBe(`/api/v1/clips/${sha}`);
    expect(up.type).toBe('video/mp4');
    expect(up.auth).toBe(`Basic ${Buffer.from(`${LOGIN.username}:${LOGIN.password}`).toString('base64')}`);
    expect(Object.fromEntries(up.url.searchParams)).toMatchObject({ event: '01JCLIPTEST000000000000001', device: 'gate-1', camera: 'cam-1' });
    const startedAt = Number(up.url.searchParams.get('startedAt'));
    const endedAt = Number(up.url.searchParams.get('endedAt'));
    expect(startedAt).toBeLessThanOrEqual(alarmAt - BEFORE_MS + 600);
    expect(endedAt).toBeGreaterThanOrEqual(alarmAt + AFTER_MS - 600);
    expect(up.body.toString('latin1', 4, 8)).toBe('ftyp');

    const file = join(dir, 'clip.mp4');
    writeFileSync(file, up.body);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file]).toString()) as {
      streams: Array<{ codec_name: string; width: number; height: number }>;
      format: { duration: string };
    };
    expect(probe.streams).toMatchObject([{ codec_name: 'h264', width: 640, height: 360 }]);
    const seconds = Number(probe.format.duration);
    expect(seconds).toBeGreaterThanOrEqual((BEFORE_MS + AFTER_MS) / 1000 - 1);
    expect(seconds).toBeLessThanOrEqual((BEFORE_MS + AFTER_MS) / 1000 + 2);
    // The pictures themselves: the first was taken before the alarm by about `before`, the last after it.
    const first = clockOf(file, 'first');
    const last = clockOf(file, 'last');
    expect(first).not.toBeNull();
    expect(last).not.toBeNull();
    console.log(`clip: ${seconds.toFixed(2)} s, first frame ${alarmAt - first!} ms before the alarm, last ${last! - alarmAt} ms after, ${up.body.length} bytes`);
    expect(first!).toBeLessThanOrEqual(alarmAt - BEFORE_MS + 700);
    expect(first!).toBeGreaterThanOrEqual(alarmAt - BEFORE_MS - 3_000); // a segment of slack plus the camera-to-gateway latency
    expect(last!).toBeGreaterThanOrEqual(alarmAt + AFTER_MS - 500);
    // The spool forgets the clip once the hub's answer is in (just after this server saw the body).
    expect(await waitFor(() => recorder.stats().pending === 0, 5_000)).toBe(true);
    expect(recorder.stats()).toMatchObject({ recording: 0, recorded: 1, pending: 0 });
  }, 40_000);

  it('the camera gone: the ring pulls again with backoff and clips resume', async () => {
    const pid = recorder.pids()[0];
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    expect(await waitFor(() => recorder.pids().length === 1 && recorder.pids()[0] !== pid, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_500));
    const before = uploads.length;
    recorder.capture(event('01JCLIPTEST000000000000002', Date.now()), ['cam-1']);
    expect(await waitFor(() => uploads.length > before, AFTER_MS + 15_000)).toBe(true);
    expect(uploads.at(-1)!.url.searchParams.get('event')).toBe('01JCLIPTEST000000000000002');
  }, 40_000);
});
