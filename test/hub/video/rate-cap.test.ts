import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { connectTestRelay, publishDevices, watchVideo, type TestRelay } from '../../support/video-relay.js';

/**
 * video.maxBytesPerSecondPerEstate: the test stream (320×240 H.264, ~100 kB/s) is far over a 20 kB/s
 * cap, so the estate's stream is stopped once its 5-second window holds more than 100 kB, and a new
 * one is refused while the window is over.
 */
const ESTATE = 'maple-court';

describe('live video: bytes per second per estate', () => {
  let t: TestHub;
  let relay: TestRelay;
  let mqtt: MqttClient;
  let vol: string;

  beforeAll(async () => {
    t = await startTestHub({ config: { video: { linger: '300ms', maxBytesPerSecondPerEstate: 20_000 } } });
    const gw = await t.provision(ESTATE, 'gw-1');
    mqtt = await publishDevices(t, gw, { 'cam-a': { kind: 'onvif-camera' }, 'cam-b': { kind: 'onvif-camera' } });
    relay = await connectTestRelay(t.httpUrl, gw);
    vol = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: [`estate:${ESTATE}`] })).token;
  }, 20_000);
  afterAll(async () => {
    await relay?.close();
    mqtt?.end(true);
    await t?.stop();
  });

  it('stops the estate\'s newest stream over the cap and refuses new ones, naming the key', async () => {
    const v = await watchVideo(t.httpUrl, { token: vol, estate: ESTATE, device: 'cam-a' });
    await v.closed;
    expect(v.segments.length).toBeGreaterThanOrEqual(2); // it played before the window filled
    expect(v.messages.at(-1)).toMatchObject({ t: 'error', code: 'RB_ERR_VIDEO_CAP', message: expect.stringContaining('video.maxBytesPerSecondPerEstate') });
    const sid = relay.opens[0]!.sid;
    expect(relay.closes).toContain(sid);
    const w = await watchVideo(t.httpUrl, { token: vol, estate: ESTATE, device: 'cam-b' });
    await w.closed;
    expect(w.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_VIDEO_CAP', message: expect.stringContaining('video.maxBytesPerSecondPerEstate') })]);
    expect(relay.opens.length).toBe(1);
  }, 20_000);
});
