import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../../hub/registry.js';
import { encodeRelayFrame, FRAME_MEDIA } from '../../../protocol/video.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { boxType, connectTestRelay, eventually, publishDevices, watchVideo, type TestRelay } from '../../support/video-relay.js';

/** Live video at the hub when things go wrong: caps, a missing or failing relay, bad credentials, garbage. */
const ESTATE = 'maple-court';

describe('live video: caps and faults', () => {
  let t: TestHub;
  let gw1: GatewayCredentials;
  let gw2: GatewayCredentials;
  let relay: TestRelay;
  const clients: MqttClient[] = [];
  let vol: string;

  beforeAll(async () => {
    t = await startTestHub({ config: { video: { linger: '300ms', openTimeout: '1s', maxViewersPerStream: 1, maxStreamsPerEstate: 1 } } });
    gw1 = await t.provision(ESTATE, 'gw-1');
    gw2 = await t.provision(ESTATE, 'gw-2');
    clients.push(await publishDevices(t, gw1, { 'cam-a': { kind: 'onvif-camera' }, 'cam-b': { kind: 'onvif-camera' }, 'cam-dead': { kind: 'onvif-camera' }, 'cam-mute': { kind: 'onvif-camera' } }));
    clients.push(await publishDevices(t, gw2, { 'cam-far': { kind: 'onvif-camera' } }));
    relay = await connectTestRelay(t.httpUrl, gw1);
    vol = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: [`estate:${ESTATE}`] })).token;
  }, 20_000);
  afterAll(async () => {
    await relay?.close();
    for (const c of clients) c.end(true);
    await t?.stop();
  });

  const watch = (device: string) => watchVideo(t.httpUrl, { token: vol, estate: ESTATE, device });
  const settled = async () => eventually(async () => (await t.metric('rb_video_streams')) === 0, 3_000, 'no stream left');

  it('a camera whose gateway has no relay link is RB_ERR_GATEWAY_OFFLINE', async () => {
    const v = await watch('cam-far');
    await v.closed;
    expect(v.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_GATEWAY_OFFLINE' })]);
    expect(await t.metric('rb_video_refusals_total', { code: 'RB_ERR_GATEWAY_OFFLINE' })).toBeGreaterThanOrEqual(1);
  });

  it('answers the viewer and stream caps with RB_ERR_VIDEO_CAP naming the key', async () => {
    const a = await watch('cam-a');
    await a.until(() => a.segments.length >= 1, 10_000, 'init');
    const b = await watch('cam-a');
    await b.closed;
    expect(b.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_VIDEO_CAP', message: expect.stringContaining('video.maxViewersPerStream') })]);
    const opens = relay.opens.length;
    const c = await watch('cam-b');
    await c.closed;
    expect(c.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_VIDEO_CAP', message: expect.stringContaining('video.maxStreamsPerEstate') })]);
    expect(relay.opens.length).toBe(opens);
    await a.close();
    await settled();
  });

  it('passes a relay error on to the viewers; a stream never opened is RB_ERR_CAMERA_UNREACHABLE after video.openTimeout', async () => {
    relay.behave('cam-dead', { kind: 'error', code: 'RB_ERR_CAMERA_UNREACHABLE', message: 'rtsp: connection refused' });
    const v = await watch('cam-dead');
    await v.closed;
    expect(v.messages).toEqual([{ t: 'error', code: 'RB_ERR_CAMERA_UNREACHABLE', message: 'rtsp: connection refused' }]);
    await settled();

    relay.behave('cam-mute', { kind: 'silent' });
    const m = await watch('cam-mute');
    await m.closed;
    expect(m.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_CAMERA_UNREACHABLE', message: expect.stringContaining('video.openTimeout') })]);
    const sid = relay.opens.filter((o) => o.device === 'cam-mute').at(-1)!.sid;
    await eventually(() => relay.closes.includes(sid), 2_000, 'close of the timed-out stream');
  });

  it('drops garbage from the relay (counted), and the next view still plays', async () => {
    const dropped = await t.metric('rb_video_relay_frames_dropped_total');
    relay.raw('not json');
    relay.raw(JSON.stringify({ t: 'opened', sid: 'nope' }));
    relay.raw(JSON.stringify({ t: 'opened', sid: 'unknown-sid', mime: 'video/mp4' }));
    relay.raw(Buffer.from([0xff, 0x00, 0x01]));
    relay.raw(Buffer.from(encodeRelayFrame(FRAME_MEDIA, 'unknown-sid', Buffer.alloc(100))));
    relay.raw(JSON.stringify({ t: 'hello', version: 1 }));
    await eventually(async () => (await t.metric('rb_video_relay_frames_dropped_total')) - dropped >= 6, 3_000, 'six drops');
    const v = await watch('cam-a');
    await v.until(() => v.segments.length >= 2, 10_000, 'init + media after garbage');
    expect(boxType(v.segments[1]!)).toBe('moof');
    await v.close();
    await settled();
  });

  it('refuses bad relay credentials with 401, and a relay link that drops ends its viewers with RB_ERR_GATEWAY_OFFLINE', async () => {
    for (const auth of [undefined, `Basic ${Buffer.from(`${gw1.username}:wrong-password`).toString('base64')}`]) {
      const ws = new WebSocket(`${t.httpUrl.replace(/^http/, 'ws')}/api/v1/video/relay`, auth ? { headers: { authorization: auth } } : {});
      const status = await new Promise<number>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('upgraded with bad credentials')));
        ws.once('error', () => undefined);
      });
      expect(status).toBe(401);
      ws.terminate();
    }
    const v = await watch('cam-a');
    await v.until(() => v.segments.length >= 1, 10_000, 'init');
    // a second link of the same gateway replaces the first: the first one's streams end
    const second = await connectTestRelay(t.httpUrl, gw1);
    try {
      await v.closed;
      expect(v.messages.at(-1)).toMatchObject({ t: 'error', code: 'RB_ERR_GATEWAY_OFFLINE' });
      await eventually(() => relay.ws.readyState === WebSocket.CLOSED, 3_000, 'the replaced link closed');
      expect(await t.metric('rb_video_relay_links')).toBe(1);
      const w = await watch('cam-a');
      await w.until(() => w.segments.length >= 1, 10_000, 'init over the new link');
      await second.close();
      await w.closed;
      expect(w.messages.at(-1)).toMatchObject({ t: 'error', code: 'RB_ERR_GATEWAY_OFFLINE' });
      expect(await t.metric('rb_video_relay_links')).toBe(0);
    } finally {
      await second.close();
    }
  });

  it('tells every viewer RB_ERR_UNAVAILABLE when the hub stops (last: it stops this file\'s hub)', async () => {
    const link = await connectTestRelay(t.httpUrl, gw1);
    try {
      const v = await watch('cam-a');
      await v.until(() => v.segments.length >= 1, 10_000, 'init');
      await t.stop();
      await v.closed;
      expect(v.messages.at(-1)).toMatchObject({ t: 'error', code: 'RB_ERR_UNAVAILABLE' });
      await eventually(() => link.ws.readyState === WebSocket.CLOSED, 3_000, 'the relay link closed');
    } finally {
      await link.close();
    }
  });
});
