import { validateGatewayConfig } from '../../gateway/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayError, RelayHello, RelayOpened } from '../../protocol/video.js';
import { metricValue, sleep, waitFor } from '../support/hub.js';
import { childrenNamed, processExists, startRtspCamera, type RtspCamera } from '../support/rtsp-camera.js';
import { startVideoGateway, VIDEO_LOGIN, type VideoGateway } from '../support/video-gateway.js';
import { startRelayHubEnd, type RelayHubEnd } from '../support/video-relay-hub.js';

/**
 * The gateway end of the live-video relay (docs/video.md), end to end on real processes: a real
 * gateway (in this process) dials a local `ws` server playing the hub, a GStreamer RTSP camera behind
 * RTSP Basic auth serves H.264, and each watched stream is a real Debian ffmpeg child.
 */
const CAM_USER = 'cam@user';
const CAM_PASS = 'p@ss:w/rd%9';
const WRONG_PASS = 'wr0ng-s3cret';

let camera: RtspCamera;
let hub: RelayHubEnd;
let gw: VideoGateway;

const isText = <T extends string>(t: T, sid?: string) =>
  (m: RelayHubEnd['messages'][number]): boolean => m.text?.t === t && (sid === undefined || (m.text as { sid?: string }).sid === sid);
const mediaOf = (sid: string) => hub.frames(sid).filter((f) => f.kind === 2);

beforeAll(async () => {
  [camera, hub] = await Promise.all([startRtspCamera({ username: CAM_USER, password: CAM_PASS }), startRelayHubEnd(VIDEO_LOGIN)]);
  const login = { uri: camera.uri, username: CAM_USER, password: CAM_PASS, ptz: true };
  // A driver that lists more presets than hello carries, one with a token the hub would refuse, one name too long.
  const presets = [{ token: 'bad token', name: 'x' }, { token: '2', name: 'Car park' }, { token: '3', name: '长'.repeat(70) }, ...Array.from({ length: 80 }, (_, i) => ({ token: `p${i}`, name: `P ${i}` }))];
  gw = await startVideoGateway({
    httpUrl: hub.httpUrl,
    devices: [
      // The profiles say 1280×720 for main: the size in `opened` must come from the stream itself (640×360).
      { id: 'cam-1', sources: [{ quality: 'main', width: 1280, height: 720, ...login, presets }, { quality: 'sub', width: 640, height: 360, ...login, presets }] },
      { id: 'cam-later', fail: true },
      { id: 'cam-wrong', sources: [{ quality: 'main', uri: camera.uri, username: CAM_USER, password: WRONG_PASS, ptz: false }] },
    ],
    video: { maxStreams: 2, startTimeout: '6s', stallTimeout: '5s' },
  });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  // Stopping the gateway stops every ffmpeg it ran.
  expect(childrenNamed('ffmpeg')).toEqual([]);
  await Promise.all([camera?.stop(), hub?.close()]);
});

describe('gateway video relay', () => {
  it('dials the hub with its login and says hello; pulls nothing while nobody watches', async () => {
    const hello = (await hub.waitFor(isText('hello'))).text as RelayHello;
    expect(hello.version).toMatch(/^\d+\.\d+\.\d+/);
    const presets = hello.cameras[0]?.presets ?? [];
    expect(presets.slice(0, 3)).toEqual([{ token: '2', name: 'Car park' }, { token: '3', name: '长'.repeat(64) }, { token: 'p0', name: 'P 0' }]);
    expect(presets).toHaveLength(64);
    expect(hello.cameras).toEqual([
      { device: 'cam-1', ptz: true, profiles: [{ quality: 'main', width: 1280, height: 720 }, { quality: 'sub', width: 640, height: 360 }], presets },
      // Not up yet: listed, with no sizes.
      { device: 'cam-later', ptz: false, profiles: [{ quality: 'main' }, { quality: 'sub' }] },
      { device: 'cam-wrong', ptz: false, profiles: [{ quality: 'main' }] },
    ]);
    expect(hub.refused).toBe(0);
    await sleep(500);
    expect(childrenNamed('ffmpeg')).toEqual([]);
    expect(camera.clients()).toBe(0);
    expect(hub.messages.filter((m) => m.frame)).toEqual([]);
  });

  it('open: opened, the init segment, then media segments that each start with moof; close: ffmpeg reaped, no RTSP client left', async () => {
    const from = hub.messages.length;
    hub.send({ t: 'open', sid: 's1', device: 'cam-1', quality: 'main' });
    const first = await hub.opened('s1', 10_000, from);
    expect(first).toEqual({ t: 'opened', sid: 's1', mime: expect.stringMatching(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/), width: 640, height: 360 });
    await waitFor(() => mediaOf('s1').length >= 3, 10_000);
    const frames = hub.messages.filter((m) => m.frame?.sid === 's1');
    const openedN = hub.messages.find((m) => m.text?.t === 'opened' && (m.text as RelayOpened).sid === 's1')!.n;
    expect(frames[0]!.n).toBeGreaterThan(openedN);
    expect(frames[0]!.frame!.kind).toBe(1);
    expect(frames[0]!.frame!.segment.toString('latin1', 4, 8)).toBe('ftyp');
    expect(frames.slice(1).every((f) => f.frame!.kind === 2)).toBe(true);
    for (const f of mediaOf('s1')) {
      expect(f.segment.toString('latin1', 4, 8)).toBe('moof');
      expect(f.segment.includes('mdat')).toBe(true);
    }
    expect(hub.violations).toEqual([]);
    await camera.waitClients((n) => n === 1);
    const pids = gw.gateway.video!.pids();
    expect(pids).toHaveLength(1);
    expect(childrenNamed('ffmpeg')).toEqual(pids);

    hub.send({ t: 'close', sid: 's1' });
    expect(await waitFor(() => !processExists(pids[0]!), 5_000)).toBe(true);
    await camera.waitClients((n) => n === 0);
    const after = mediaOf('s1').length;
    await sleep(300);
    expect(mediaOf('s1').length).toBe(after);
    expect(gw.gateway.video!.stats().running).toBe(0);
  });

  it('hub messages it does not understand are counted and ignored; the link stays up', async () => {
    const from = hub.messages.length;
    hub.send('not json {');
    hub.send({ t: 'zap', sid: 'z1' });
    hub.send({ t: 'open', sid: 'bad sid!', device: 'cam-1', quality: 'main' });
    hub.send({ t: 'open', sid: 'x1', device: 'nope', quality: 'main' });
    hub.send({ t: 'close', sid: 'never-opened' });
    const err = (await hub.waitFor(isText('error', 'x1'), 5_000, from)).text as RelayError;
    expect(err.code).toBe('RB_ERR_NOT_FOUND');
    await waitFor(() => gw.gateway.video!.stats().badMessages === 4, 2_000);
    expect(gw.gateway.video!.stats()).toMatchObject({ badMessages: 4, connected: true, running: 0 });
    expect(hub.connections).toBe(1);
    expect(childrenNamed('ffmpeg')).toEqual([]);
  });

  it('caps at video.maxStreams; the link dropping stops every stream and the gateway dials again', async () => {
    const from = hub.messages.length;
    hub.send({ t: 'open', sid: 'a1', device: 'cam-1', quality: 'sub' });
    await hub.opened('a1', 10_000, from);
    // a2 is still starting when a3 comes: it counts.
    hub.send({ t: 'open', sid: 'a2', device: 'cam-1', quality: 'main' });
    hub.send({ t: 'open', sid: 'a3', device: 'cam-1', quality: 'sub' });
    const cap = (await hub.waitFor(isText('error', 'a3'), 5_000, from)).text as RelayError;
    expect(cap.code).toBe('RB_ERR_VIDEO_CAP');
    expect(cap.message).toContain('video.maxStreams');
    await hub.opened('a2', 10_000, from);
    await camera.waitClients((n) => n === 2);
    const pids = gw.gateway.video!.pids();
    expect(pids).toHaveLength(2);

    hub.drop();
    expect(await waitFor(() => pids.every((p) => !processExists(p)), 5_000)).toBe(true);
    expect(childrenNamed('ffmpeg')).toEqual([]);
    await camera.waitClients((n) => n === 0);
    await hub.waitFor(isText('hello'), 10_000, from);
    expect(hub.connections).toBe(2);
    expect(gw.gateway.video!.stats().connected).toBe(true);
  });

  it('the camera login goes to ffmpeg percent-encoded and never into an error, a log line or a metric', async () => {
    const from = hub.messages.length;
    hub.send({ t: 'open', sid: 'w1', device: 'cam-wrong', quality: 'main' });
    const err = (await hub.waitFor(isText('error', 'w1'), 10_000, from)).text as RelayError;
    expect(err.code).toBe('RB_ERR_CAMERA_UNREACHABLE');
    expect(err.message).toContain('401'); // ffmpeg's own words, with the URL's login cut out
    expect(err.message).toContain('rtsp://***@');
    expect(err.message).not.toContain(WRONG_PASS);
    expect(await waitFor(() => childrenNamed('ffmpeg').length === 0, 5_000)).toBe(true);

    const metrics = await (await fetch(gw.metricsUrl)).text();
    expect(metricValue(metrics, 'rb_gateway_video_stream_errors_total', { code: 'RB_ERR_CAMERA_UNREACHABLE' })).toBe(1);
    expect(metricValue(metrics, 'rb_gateway_video_stream_errors_total', { code: 'RB_ERR_VIDEO_CAP' })).toBe(1);
    expect(metricValue(metrics, 'rb_gateway_video_stream_errors_total', { code: 'RB_ERR_NOT_FOUND' })).toBe(1);
    expect(metricValue(metrics, 'rb_gateway_video_bad_messages_total')).toBe(4);
    expect(metricValue(metrics, 'rb_gateway_video_relayed_bytes_total')).toBeGreaterThan(10_000);
    expect(metricValue(metrics, 'rb_gateway_video_relay_connected')).toBe(1);
    expect(metricValue(metrics, 'rb_gateway_video_streams')).toBe(0);

    const logs = gw.logs();
    expect(logs).toContain('video stream opened'); // the log was captured at all
    expect(logs).toContain('ffmpeg started');
    const basic = Buffer.from(`${VIDEO_LOGIN.username}:${VIDEO_LOGIN.password}`).toString('base64');
    for (const secret of [CAM_PASS, encodeURIComponent(CAM_PASS), WRONG_PASS, VIDEO_LOGIN.password, basic]) {
      expect(logs).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
  });

  it('a config reload that changes the devices dials again with a fresh hello', async () => {
    const from = hub.messages.length;
    const result = await gw.gateway.reload(validateGatewayConfig({ ...gw.raw, devices: gw.raw.devices.filter((d) => d.id !== 'cam-wrong') }));
    expect(result.removed).toEqual(['cam-wrong']);
    const hello = (await hub.waitFor(isText('hello'), 10_000, from)).text as RelayHello;
    expect(hello.cameras.map((c) => c.device)).toEqual(['cam-1', 'cam-later']);
    expect(hub.connections).toBe(3);
  });
});
