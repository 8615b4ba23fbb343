import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h264Sample, startEvilRtsp, type EvilRtsp } from '../devices/hostile/evil-rtsp.js';
import { startDripProxy, type DripProxy } from '../support/drip-proxy.js';
import { waitFor } from '../support/hub.js';
import { childrenNamed, processExists, startRtspCamera, type RtspCamera } from '../support/rtsp-camera.js';
import { startVideoGateway, VIDEO_LOGIN, type VideoGateway } from '../support/video-gateway.js';
import { startRelayHubEnd, type RelayHubEnd } from '../support/video-relay-hub.js';

/**
 * More cameras that do not play along (docs/video.md, hostile cameras), with real RTSP servers:
 * a slow drip (GStreamer's camera behind a proxy that passes 2 KB/s), from the first byte and after
 * the stream opened; and a camera whose RTSP description carries no H.264 parameter sets (they come
 * in-band before each key frame, and the session joins mid-GOP), which the quick probe cannot open
 * and the full probe can. A good stream beside them keeps playing and the gateway keeps answering.
 */
const START_MS = 5_000;
const STALL_MS = 1_500;
let good: RtspCamera;
let dripped: RtspCamera;
let fromStart: DripProxy;
let midStream: DripProxy;
let noSprop: EvilRtsp;
let hub: RelayHubEnd;
let gw: VideoGateway;

const src = (uri: string) => [{ quality: 'main' as const, uri, ptz: false }];
/** The ffmpeg started for a stream just opened: the one pid not in `before`. */
async function newPid(before: Set<number>): Promise<number> {
  await waitFor(() => gw.gateway.video!.pids().some((p) => !before.has(p)), 5_000);
  const pid = gw.gateway.video!.pids().find((p) => !before.has(p));
  expect(pid).toBeDefined();
  return pid!;
}

beforeAll(async () => {
  const sample = h264Sample();
  [good, dripped, hub, noSprop] = await Promise.all([
    startRtspCamera(),
    startRtspCamera(),
    startRelayHubEnd(VIDEO_LOGIN),
    // Parameter sets only in-band, and each session joins mid-GOP as on a live camera: 10 P frames of
    // ~8 KB before the next key frame, so the quick probe's 32 KiB run out before it.
    startEvilRtsp(sample, { sprop: false, startFrame: 15 }),
  ]);
  [fromStart, midStream] = await Promise.all([startDripProxy(dripped.port, { dripping: true }), startDripProxy(dripped.port)]);
  gw = await startVideoGateway({
    httpUrl: hub.httpUrl,
    devices: [
      { id: 'cam-good', sources: src(good.uri) },
      { id: 'cam-drip', sources: src(`rtsp://127.0.0.1:${fromStart.port}/s`) },
      { id: 'cam-drip-later', sources: src(`rtsp://127.0.0.1:${midStream.port}/s`) },
      { id: 'cam-no-sprop', sources: src(noSprop.uri) },
    ],
    video: { maxStreams: 8, startTimeout: `${START_MS}ms`, stallTimeout: `${STALL_MS}ms` },
  });
  await hub.waitFor((m) => m.text?.t === 'hello');
  hub.send({ t: 'open', sid: 'g1', device: 'cam-good', quality: 'main' });
  await hub.opened('g1');
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  expect(childrenNamed('ffmpeg')).toEqual([]);
  await Promise.all([fromStart?.close(), midStream?.close(), good?.stop(), dripped?.stop(), noSprop?.stop(), hub?.close()]);
});

describe('gateway video relay, hostile RTSP cameras', () => {
  it('a slow drip from the first byte: RB_ERR_CAMERA_UNREACHABLE at video.startTimeout; the good stream plays and the gateway answers meanwhile', async () => {
    const before = hub.media('g1');
    const pids = new Set(gw.gateway.video!.pids());
    const t0 = Date.now();
    hub.send({ t: 'open', sid: 'd1', device: 'cam-drip', quality: 'main' });
    const pid = await newPid(pids);
    // Midway, the camera is dripping (the RTSP exchange got through, slowly) and the gateway's own HTTP listener answers at once.
    await new Promise((r) => setTimeout(r, START_MS / 2));
    expect(fromStart.delivered()).toBeGreaterThan(500);
    const res = await fetch(gw.metricsUrl, { signal: AbortSignal.timeout(1_000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('rb_gateway_video_streams 2');
    const err = await hub.errorOf('d1', START_MS + 3_000);
    const took = Date.now() - t0;
    expect(err.code).toBe('RB_ERR_CAMERA_UNREACHABLE');
    expect(err.message).toContain('no picture from the camera within video.startTimeout');
    expect(took).toBeGreaterThanOrEqual(START_MS - 100);
    expect(took).toBeLessThan(START_MS + 3_000);
    expect(hub.frames('d1')).toEqual([]);
    // What dripped in meanwhile was a few KB: 2 KB/s.
    expect(fromStart.delivered()).toBeLessThan(((START_MS + 3_000) / 1_000) * 2_000 + 2_000);
    expect(await waitFor(() => !processExists(pid), 5_000)).toBe(true);
    expect(hub.media('g1')).toBeGreaterThanOrEqual(before + 4);
  });

  it('a drip after the stream opened: RB_ERR_VIDEO_BROKEN after video.stallTimeout, ffmpeg reaped, the good stream plays on', async () => {
    const pids = new Set(gw.gateway.video!.pids());
    hub.send({ t: 'open', sid: 'd2', device: 'cam-drip-later', quality: 'main' });
    const pid = await newPid(pids);
    await hub.opened('d2');
    expect(await waitFor(() => hub.media('d2') >= 2, 5_000)).toBe(true);
    const before = hub.media('g1');
    midStream.drip(true);
    const t0 = Date.now();
    const err = await hub.errorOf('d2', STALL_MS + 4_000);
    expect(err.code).toBe('RB_ERR_VIDEO_BROKEN');
    expect(err.message).toContain(`sent nothing for ${STALL_MS} ms`);
    // The stall counts from ffmpeg's last output: a segment per key frame (every 0.48 s), so up to that before the drip began.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(STALL_MS - 600);
    // The dripping camera kept the connection and kept dripping until ffmpeg went (SIGTERM; SIGKILL after 2 s).
    expect(await waitFor(() => !processExists(pid), 5_000)).toBe(true);
    expect(hub.media('g1')).toBeGreaterThan(before);
    expect(await waitFor(() => midStream.connections() === 0, 3_000)).toBe(true);
    expect(gw.gateway.video!.pids()).toHaveLength(1);
  });

  it('no parameter sets in the SDP: the quick probe fails, the full probe opens the stream and segments flow', async () => {
    const plays = noSprop.plays();
    hub.send({ t: 'open', sid: 'n1', device: 'cam-no-sprop', quality: 'main' });
    const o = await hub.opened('n1', START_MS + 2_000);
    expect(o).toMatchObject({ mime: expect.stringMatching(/^video\/mp4; codecs="avc1\./), width: 640, height: 360 });
    // Two RTSP sessions: the quick probe's, which ffmpeg gave up on, and the full probe's.
    expect(noSprop.plays()).toBe(plays + 2);
    expect(gw.logs()).toContain('pulling again with a full probe');
    expect(await waitFor(() => hub.media('n1') >= 2, 5_000)).toBe(true);
    hub.send({ t: 'close', sid: 'n1' });
    expect(await waitFor(() => gw.gateway.video!.pids().length === 1, 5_000)).toBe(true);
    expect(gw.gateway.video!.stats().errors).toEqual({ RB_ERR_CAMERA_UNREACHABLE: 1, RB_ERR_VIDEO_BROKEN: 1 });
  });
});
