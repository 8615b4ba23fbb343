import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/hub.js';
import { freePort } from '../support/ports.js';
import { childrenNamed, processExists, startRtspCamera, type RtspCamera } from '../support/rtsp-camera.js';
import { startVideoGateway, VIDEO_LOGIN, type VideoGateway } from '../support/video-gateway.js';
import { startRelayHubEnd, type RelayHubEnd } from '../support/video-relay-hub.js';

/**
 * Cameras that do not play along (docs/video.md, hostile cameras): nothing listening, a server that
 * answers garbage, one that accepts and says nothing, a stall mid-stream, a key frame over
 * video.maxSegmentBytes. Each stream stops with an error and its ffmpeg is reaped, while a good
 * stream beside them keeps playing and the gateway keeps answering.
 */
let good: RtspCamera;
let paused: RtspCamera;
let big: RtspCamera;
let hub: RelayHubEnd;
let gw: VideoGateway;
const servers: Server[] = [];
const sockets = new Set<Socket>();

/** A TCP server that treats every connection with `onConnection` (a hostile "camera"). */
async function tcpServer(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const src = (uri: string) => [{ quality: 'main' as const, uri, ptz: false }];

beforeAll(async () => {
  [good, paused, big, hub] = await Promise.all([startRtspCamera(), startRtspCamera(), startRtspCamera({ bitrateKbit: 8_000, pattern: 'snow' }), startRelayHubEnd(VIDEO_LOGIN)]);
  const garbage = await tcpServer((s) => {
    s.once('data', () => {
      s.write(Buffer.concat([Buffer.from('RTSP/1.0 2OO KO\r\nCSeq: x\r\n\r\n'), Buffer.alloc(4096, 0xa5)]));
      s.end();
    });
  });
  const silent = await tcpServer(() => undefined); // accepts, reads, never answers
  gw = await startVideoGateway({
    httpUrl: hub.httpUrl,
    devices: [
      { id: 'cam-good', sources: src(good.uri) },
      { id: 'cam-paused', sources: src(paused.uri) },
      { id: 'cam-big', sources: src(big.uri) },
      { id: 'cam-closed', sources: src(`rtsp://127.0.0.1:${await freePort()}/s`) },
      { id: 'cam-garbage', sources: src(`rtsp://127.0.0.1:${garbage}/s`) },
      { id: 'cam-silent', sources: src(`rtsp://127.0.0.1:${silent}/s`) },
    ],
    video: { maxStreams: 8, maxSegmentBytes: 65_536, startTimeout: '2s', stallTimeout: '1500ms' },
  });
  await hub.waitFor((m) => m.text?.t === 'hello');
  hub.send({ t: 'open', sid: 'g1', device: 'cam-good', quality: 'main' });
  await hub.opened('g1');
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  expect(childrenNamed('ffmpeg')).toEqual([]);
  for (const s of sockets) s.destroy();
  await Promise.all([good?.stop(), paused?.stop(), big?.stop(), hub?.close(), ...servers.map((s) => new Promise((r) => s.close(r)))]);
});


describe('gateway video relay, hostile cameras', () => {
  it('a camera nothing listens on: RB_ERR_CAMERA_UNREACHABLE within the start timeout', async () => {
    const t0 = Date.now();
    hub.send({ t: 'open', sid: 'c1', device: 'cam-closed', quality: 'main' });
    const err = await hub.errorOf('c1', 2_000 + 2_000);
    expect(err.code).toBe('RB_ERR_CAMERA_UNREACHABLE');
    expect(err.message).toMatch(/refused/i);
    expect(Date.now() - t0).toBeLessThan(2_000 + 2_000);
    expect(hub.messages.some((m) => m.text?.t === 'opened' && (m.text as { sid: string }).sid === 'c1')).toBe(false);
  });

  it('garbage and a server that never answers: each stream stops with an error; the good one keeps playing and the gateway answers', async () => {
    const before = hub.media('g1');
    hub.send({ t: 'open', sid: 'x1', device: 'cam-garbage', quality: 'main' });
    hub.send({ t: 'open', sid: 'x2', device: 'cam-silent', quality: 'main' });
    // While both are in flight, the gateway's own HTTP listener answers at once.
    const res = await fetch(gw.metricsUrl, { signal: AbortSignal.timeout(2_000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('rb_gateway_video_streams 3');
    const [garbage, silent] = await Promise.all([hub.errorOf('x1', 6_000), hub.errorOf('x2', 6_000)]);
    expect(garbage.code).toBe('RB_ERR_CAMERA_UNREACHABLE');
    expect(silent.code).toBe('RB_ERR_CAMERA_UNREACHABLE');
    expect(silent.message).toContain('no picture from the camera within video.startTimeout');
    expect(await waitFor(() => gw.gateway.video!.pids().length === 1, 3_000)).toBe(true);
    expect(childrenNamed('ffmpeg')).toHaveLength(1);
    // The good stream went on meanwhile (a segment every ~0.5 s).
    expect(await waitFor(() => hub.media('g1') >= before + 4, 5_000)).toBe(true);
  });

  it('a stall mid-stream: RB_ERR_VIDEO_BROKEN after video.stallTimeout, ffmpeg reaped', async () => {
    const pidsBefore = new Set(gw.gateway.video!.pids());
    hub.send({ t: 'open', sid: 'p1', device: 'cam-paused', quality: 'main' });
    await hub.opened('p1');
    const pid = gw.gateway.video!.pids().find((p) => !pidsBefore.has(p))!;
    expect(pid).toBeDefined();
    paused.pause(); // the camera keeps the TCP connection and sends nothing
    try {
      const err = await hub.errorOf('p1', 6_000);
      expect(err.code).toBe('RB_ERR_VIDEO_BROKEN');
      expect(err.message).toContain('sent nothing for 1500 ms');
    } finally {
      paused.resume();
    }
    expect(await waitFor(() => !processExists(pid), 5_000)).toBe(true);
    expect(gw.gateway.video!.pids()).toHaveLength(1);
  });

  it('a segment over video.maxSegmentBytes: RB_ERR_VIDEO_BROKEN, nothing over the cap relayed', async () => {
    const pidsBefore = new Set(gw.gateway.video!.pids());
    hub.send({ t: 'open', sid: 'b1', device: 'cam-big', quality: 'main' });
    await waitFor(() => gw.gateway.video!.pids().some((p) => !pidsBefore.has(p)), 5_000);
    const pid = gw.gateway.video!.pids().find((p) => !pidsBefore.has(p));
    const err = await hub.errorOf('b1', 10_000);
    expect(err.code).toBe('RB_ERR_VIDEO_BROKEN');
    expect(err.message).toContain('over the cap of 65536');
    expect(hub.frames('b1').every((f) => f.segment.length <= 65_536 * 2)).toBe(true);
    if (pid !== undefined) expect(await waitFor(() => !processExists(pid), 5_000)).toBe(true);
    expect(await waitFor(() => childrenNamed('ffmpeg').length === 1, 3_000)).toBe(true);
    expect(gw.gateway.video!.stats().errors).toMatchObject({ RB_ERR_CAMERA_UNREACHABLE: 3, RB_ERR_VIDEO_BROKEN: 2 });
  });
});
