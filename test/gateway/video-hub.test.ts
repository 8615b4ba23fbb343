import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { childrenNamed, startRtspCamera, type RtspCamera } from '../support/rtsp-camera.js';
import { startVideoGateway, type VideoGateway } from '../support/video-gateway.js';
import { boxType, publishDevices, watchVideo } from '../support/video-relay.js';

/**
 * The gateway's relay against the real hub (hub/video): a viewer watches, the hub asks the gateway,
 * ffmpeg pulls the RTSP camera, the viewer gets ready + init + media; the viewer leaves, the hub
 * closes after its linger and the gateway's ffmpeg and RTSP session are gone.
 */
const ESTATE = 'maple-court';
let t: TestHub;
let camera: RtspCamera;
let gw: VideoGateway;
let mqtt: MqttClient;
let token: string;

beforeAll(async () => {
  [t, camera] = await Promise.all([startTestHub({ config: { video: { linger: '500ms', openTimeout: '8s' } } }), startRtspCamera({ username: 'admin', password: 'cam-pass-9' })]);
  const creds = await t.provision(ESTATE, 'gw-1');
  mqtt = await publishDevices(t, creds, { 'cam-east': { kind: 'onvif-camera', name: '东门' } });
  gw = await startVideoGateway({
    httpUrl: t.httpUrl,
    creds: { estate: creds.estate, gateway: creds.gateway, username: creds.username, password: creds.password },
    devices: [{ id: 'cam-east', sources: [{ quality: 'main', uri: camera.uri, username: 'admin', password: 'cam-pass-9', width: 640, height: 360, ptz: false }] }],
  });
  token = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: [`estate:${ESTATE}`] })).token;
  expect(await waitFor(() => gw.gateway.video!.stats().connected, 10_000)).toBe(true);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  mqtt?.end(true);
  await Promise.all([t?.stop(), camera?.stop()]);
});

describe('gateway video relay with the real hub', () => {
  it('a viewer watches through the hub; after the last one leaves, no ffmpeg and no RTSP session remain', async () => {
    expect(camera.clients()).toBe(0);
    const v = await watchVideo(t.httpUrl, { token, estate: ESTATE, device: 'cam-east' });
    await v.until(() => v.segments.length >= 3, 15_000, 'init + 2 media segments');
    expect(v.messages[0]).toMatchObject({ t: 'ready', width: 640, height: 360 });
    expect(boxType(v.segments[0]!)).toBe('ftyp');
    for (const s of v.segments.slice(1)) expect(boxType(s)).toBe('moof');
    expect(camera.clients()).toBe(1);
    expect(childrenNamed('ffmpeg')).toHaveLength(1);
    await v.close();
    await camera.waitClients((n) => n === 0, 5_000);
    expect(await waitFor(() => childrenNamed('ffmpeg').length === 0, 3_000)).toBe(true);
    expect(gw.gateway.video!.stats()).toMatchObject({ running: 0, badMessages: 0, errors: {} });
  });
});
