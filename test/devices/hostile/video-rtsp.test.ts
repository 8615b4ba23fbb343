import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../../gateway/config.js';
import type { RelayError } from '../../../protocol/video.js';
import { waitFor } from '../../support/hub.js';
import { childrenNamed, processExists } from '../../support/rtsp-camera.js';
import { startVideoGateway, VIDEO_LOGIN, type VideoGateway } from '../../support/video-gateway.js';
import { startRelayHubEnd, type RelayHubEnd } from '../../support/video-relay-hub.js';
import { spawnEvilRtsp, type EvilRtsp } from './evil-rtsp.js';
import { measure, printReport, withinLimits } from './measure.js';

/**
 * Evil RTSP cameras against the real gateway (in this process, so its RSS and event loop are this
 * process's, measured by measure.ts): one that sends a 50 MB access unit after a good start, at the
 * real default cap (video.maxSegmentBytes 8 MiB), and one that turns to garbage after a good start.
 * Each stream stops with an error naming why, nothing over the cap is relayed, ffmpeg is reaped, a
 * good stream beside them plays on, and the gateway grows by well under the 50 MB and is never blocked
 * for 50 ms. (The huge frame is ffmpeg's to hold: it is parsed and muxed in ffmpeg's own process.)
 */
const MB50 = 50 * 1024 * 1024;
const CAP = 8 * 1024 * 1024;
/** Above the ~1.3 s ffmpeg takes to read 50 MB on loopback, so the cap, not the stall, ends the huge stream. */
const STALL_MS = 5_000;
let good: EvilRtsp;
let huge: EvilRtsp;
let garbage: EvilRtsp;
let hub: RelayHubEnd;
let gw: VideoGateway;

const src = (uri: string) => [{ quality: 'main' as const, uri, ptz: false }];
const ofSid = (sid: string, ...types: string[]) => (m: RelayHubEnd['messages'][number]): boolean => types.includes(m.text?.t ?? '') && (m.text as { sid?: string }).sid === sid;
/** Opens `sid` and resolves with its ffmpeg's pid once that runs. */
async function open(sid: string, device: string): Promise<number> {
  const before = new Set(gw.gateway.video!.pids());
  hub.send({ t: 'open', sid, device, quality: 'main' });
  await waitFor(() => gw.gateway.video!.pids().some((p) => !before.has(p)), 5_000);
  const pid = gw.gateway.video!.pids().find((p) => !before.has(p));
  expect(pid).toBeDefined();
  return pid!;
}
/** ffmpeg's own peak RSS (VmHWM), sampled until it is gone. */
function peakRssOf(pid: number): () => number {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
    } catch {
      clearInterval(t);
    }
  }, 50);
  return () => (clearInterval(t), peak);
}

beforeAll(async () => {
  // A calm picture (~35 KB/s): what the good stream's segments cost while a case runs stays small beside what is measured.
  // The huge access unit comes right before the 25th frame, so the next key frame makes ffmpeg write it out at once.
  [good, huge, garbage, hub] = await Promise.all([
    spawnEvilRtsp({}, 'testsrc'),
    spawnEvilRtsp({ hugeAfter: 24, hugeBytes: MB50 }, 'testsrc'),
    spawnEvilRtsp({ garbageAfter: 40 }, 'testsrc'),
    startRelayHubEnd(VIDEO_LOGIN),
  ]);
  gw = await startVideoGateway({
    httpUrl: hub.httpUrl,
    devices: [
      { id: 'cam-good', sources: src(good.uri) },
      { id: 'cam-huge', sources: src(huge.uri) },
      { id: 'cam-garbage', sources: src(garbage.uri) },
    ],
    // maxSegmentBytes stays at its default (8 MiB).
    video: { stallTimeout: `${STALL_MS}ms` },
  });
  expect(validateGatewayConfig(gw.raw).video.maxSegmentBytes).toBe(CAP);
  await hub.waitFor((m) => m.text?.t === 'hello');
  await open('g1', 'cam-good');
  await hub.opened('g1');
  // Warm: the good stream's segments have crossed the relay a few times.
  expect(await waitFor(() => hub.media('g1') >= 2, 5_000)).toBe(true);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  expect(childrenNamed('ffmpeg')).toEqual([]);
  await Promise.all([good?.stop(), huge?.stop(), garbage?.stop(), hub?.close()]);
  printReport('video: gateway ← evil RTSP camera (ms, MiB, MiB, ms)');
});

describe('the gateway pulling an evil RTSP camera', () => {
  it('a 50 MB access unit at the default 8 MiB cap: RB_ERR_VIDEO_BROKEN naming the cap, nothing over it relayed, ffmpeg reaped, the gateway unmoved', async () => {
    const goodBefore = hub.media('g1');
    let ffmpegPeak = 0;
    let pid = 0;
    const { value: err, error, cost } = await measure('50 MB access unit (cap 8 MiB)', async () => {
      pid = await open('h1', 'cam-huge');
      const peak = peakRssOf(pid);
      await hub.opened('h1');
      const m = await hub.waitFor(ofSid('h1', 'error'), 20_000);
      expect(await waitFor(() => !processExists(pid), 5_000)).toBe(true);
      ffmpegPeak = peak();
      return m.text as RelayError;
    });
    expect(error).toBeUndefined();
    console.log(`50 MB access unit: gateway ${JSON.stringify(cost)}; ffmpeg's own peak RSS ${(ffmpegPeak / 1024 / 1024).toFixed(0)} MiB`);
    expect(err).toMatchObject({ code: 'RB_ERR_VIDEO_BROKEN', message: expect.stringMatching(/box mdat of \d{8} bytes is over the cap of 8388608/) });
    // The camera did get the whole 50 MB out, and ffmpeg took it in: the frame was really there.
    expect(await waitFor(() => huge.hugeWritten() > MB50 - 1_000, 3_000)).toBe(true);
    const frames = hub.frames('h1');
    expect(frames.length).toBeGreaterThanOrEqual(1); // the init segment and the segments before the huge one
    expect(Math.max(...frames.map((f) => f.segment.length))).toBeLessThanOrEqual(CAP);
    expect(withinLimits(cost), JSON.stringify(cost)).toEqual({ rss: true, peak: true, block: true });
    expect(hub.media('g1')).toBeGreaterThan(goodBefore);
    expect(gw.gateway.video!.pids()).toHaveLength(1);
  });

  // ffmpeg 5.1 aborts a blocking read only on a second signal once it streams: here it goes on SIGKILL, 2 s after SIGTERM.
  it('garbage after a good start: the stream stops with an error, ffmpeg reaped, the gateway unmoved', async () => {
    const goodBefore = hub.media('g1');
    let pid = 0;
    const { value: err, error, cost } = await measure('garbage after a good start', async () => {
      pid = await open('x1', 'cam-garbage');
      await hub.opened('x1');
      const m = await hub.waitFor(ofSid('x1', 'error'), STALL_MS + 8_000);
      expect(await waitFor(() => !processExists(pid), 5_000)).toBe(true);
      return m.text as RelayError;
    });
    expect(error).toBeUndefined();
    // ffmpeg reads the garbage as a broken RTSP reply and waits for more: nothing comes out of it.
    expect(err).toMatchObject({ code: 'RB_ERR_VIDEO_BROKEN', message: `the camera sent nothing for ${STALL_MS} ms` });
    expect(hub.media('x1')).toBeGreaterThanOrEqual(1);
    expect(withinLimits(cost), JSON.stringify(cost)).toEqual({ rss: true, peak: true, block: true });
    expect(hub.media('g1')).toBeGreaterThan(goodBefore);
    expect(gw.gateway.video!.stats().errors).toEqual({ RB_ERR_VIDEO_BROKEN: 2 });
  });
});
