import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoSource } from '../../devices/types.js';
import { createVideoRelay, type VideoRelay } from '../../gateway/video/relay.js';
import { silentLogger } from '../../lib/log.js';
import { sleep, waitFor } from '../support/hub.js';
import { childrenNamed, startRtspCamera, type RtspCamera } from '../support/rtsp-camera.js';
import { VIDEO_LOGIN } from '../support/video-gateway.js';
import { startRelayHubEnd, type RelayHubEnd } from '../support/video-relay-hub.js';

/**
 * A hub that falls behind: the relay module (gateway/video/relay.ts, with a driver stub) drops media
 * segments while its link has more than maxBufferedBytes queued, never the init segment, and resumes
 * with whole segments (each starting with a key frame) once the hub reads again.
 */
let camera: RtspCamera;
let hub: RelayHubEnd;
let relay: VideoRelay;

beforeAll(async () => {
  // Noise at 8 Mbit/s: ~1 MB/s, enough to fill the loopback socket buffers within seconds.
  [camera, hub] = await Promise.all([startRtspCamera({ bitrateKbit: 8_000, pattern: 'snow' }), startRelayHubEnd(VIDEO_LOGIN)]);
  const source: VideoSource = { quality: 'main', uri: camera.uri, ptz: false };
  relay = createVideoRelay({
    hubUrl: hub.httpUrl,
    ...VIDEO_LOGIN,
    version: '0.0.0-test',
    devices: () => [['cam-1', { streams: async () => [source] }]],
    ffmpeg: 'ffmpeg',
    maxStreams: 2,
    maxSegmentBytes: 8 * 1024 * 1024,
    startTimeoutMs: 8_000,
    stallTimeoutMs: 10_000,
    backoffMinMs: 100,
    backoffMaxMs: 1_000,
    log: silentLogger(),
    maxBufferedBytes: 256 * 1024,
  });
  relay.start();
  await hub.waitFor((m) => m.text?.t === 'hello');
}, 30_000);

afterAll(async () => {
  await relay?.stop();
  expect(childrenNamed('ffmpeg')).toEqual([]);
  await Promise.all([camera?.stop(), hub?.close()]);
});

describe('gateway video relay, a hub that falls behind', () => {
  it('drops media segments (never the init) while the link is backed up, then resumes with whole segments', async () => {
    hub.pause(); // before open: the init segment has to wait in the buffer like everything else
    hub.send({ t: 'open', sid: 'bp', device: 'cam-1', quality: 'main' });
    expect(await waitFor(() => relay.stats().segmentsDropped >= 3, 15_000, 50)).toBe(true);
    const sentWhileBehind = relay.stats().bytesRelayed;
    hub.resume();
    // Reading again: the init segment arrives first, media follows again.
    await hub.waitFor((m) => m.text?.t === 'opened');
    const dropped = relay.stats().segmentsDropped;
    await waitFor(() => relay.stats().bytesRelayed > sentWhileBehind + 1_000_000, 10_000, 50);
    await sleep(200);
    const frames = hub.frames('bp');
    expect(frames[0]!.kind).toBe(1);
    expect(frames[0]!.segment.toString('latin1', 4, 8)).toBe('ftyp');
    const media = frames.slice(1);
    expect(media.length).toBeGreaterThan(3);
    expect(media.every((f) => f.kind === 2 && f.segment.toString('latin1', 4, 8) === 'moof')).toBe(true);
    expect(hub.violations).toEqual([]);
    // What was queued while behind was bounded: the bound plus the segments already in flight, not the whole stream.
    expect(sentWhileBehind).toBeLessThan(20 * 1024 * 1024);
    expect(dropped).toBeGreaterThanOrEqual(3);
    expect(relay.stats().running).toBe(1);
  });
});
