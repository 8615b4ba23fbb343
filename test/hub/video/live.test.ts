import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../../hub/registry.js';
import type { VideoCameraView } from '../../../protocol/video.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { boxType, connectTestRelay, eventually, publishDevices, watchVideo, type TestRelay } from '../../support/video-relay.js';

/**
 * Live video at the hub (docs/video.md): a real hub, a relay client with the gateway's credentials
 * streaming real H.264 (ffmpeg) in fragmented MP4, viewers with user tokens.
 */
const ESTATE = 'maple-court';
const OTHER = 'birch-yard';
const LINGER_MS = 1000;
const PRESETS = [{ token: '1', name: 'Gate' }, { token: '2', name: '停车场' }];

describe('live video relay and viewers', () => {
  let t: TestHub;
  let creds: GatewayCredentials;
  let relay: TestRelay;
  let mqtt: MqttClient;
  let vol: string;
  let stranger: string;

  beforeAll(async () => {
    t = await startTestHub({ config: { video: { linger: `${LINGER_MS}ms`, openTimeout: '3s', maxViewersPerStream: 4, maxStreamsPerEstate: 2, keepAlive: '300ms' } } });
    creds = await t.provision(ESTATE, 'gw-1');
    await t.provision(OTHER, 'gw-9');
    mqtt = await publishDevices(t, creds, { 'cam-east': { kind: 'onvif-camera', name: '东门' }, 'door-east': { kind: 'access-gate', cameras: ['cam-east'] } });
    relay = await connectTestRelay(t.httpUrl, creds, { version: 'test', cameras: [{ device: 'cam-east', ptz: true, profiles: [{ quality: 'main', width: 320, height: 240 }, { quality: 'sub' }], presets: PRESETS }] });
    vol = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: [`estate:${ESTATE}`] })).token;
    stranger = (await t.addUser({ name: 'other', role: 'volunteer', scopes: [`estate:${OTHER}`] })).token;
  }, 20_000);
  afterAll(async () => {
    await relay?.close();
    mqtt?.end(true);
    await t?.stop();
  });

  it('lists the estate\'s cameras with their names, relay, PTZ, presets and the doors they watch', async () => {
    await eventually(async () => ((await t.api('GET', `/api/v1/video/cameras?estate=${ESTATE}`, { token: vol })).json as unknown as VideoCameraView[])[0]?.ptz === true, 5_000, 'hello seen');
    const res = await t.api('GET', `/api/v1/video/cameras?estate=${ESTATE}`, { token: vol });
    expect(res.status).toBe(200);
    expect(res.json).toEqual([
      { estate: ESTATE, gateway: 'gw-1', device: 'cam-east', name: '东门', online: true, relay: true, node: expect.any(String), ptz: true, qualities: ['main', 'sub'], linkedFrom: ['door-east'], presets: PRESETS },
    ]);
    expect((await t.api('GET', `/api/v1/video/cameras?estate=${ESTATE}`, { token: stranger })).status).toBe(403);
    expect((await t.api('GET', `/api/v1/video/cameras?estate=${ESTATE}`, { token: null })).status).toBe(401);
  });

  it('two viewers share one stream: ready, the init segment, then media from the relay; the last leaving closes it after the linger', async () => {
    const opensBefore = relay.opens.length;
    const a = await watchVideo(t.httpUrl, { token: vol, estate: ESTATE, device: 'cam-east' });
    await a.until(() => a.segments.length >= 3, 15_000, 'init + 2 media segments');
    expect(a.messages[0]).toMatchObject({ t: 'ready', width: 320, height: 240 });
    expect((a.messages[0] as { mime: string }).mime).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);
    expect(boxType(a.segments[0]!)).toBe('ftyp');
    for (const s of a.segments.slice(1)) expect(boxType(s)).toBe('moof');

    const b = await watchVideo(t.httpUrl, { token: vol, estate: ESTATE, device: 'cam-east' });
    await b.until(() => b.segments.length >= 2, 10_000, 'late viewer: init + 1 media segment');
    expect(b.messages).toEqual([a.messages[0]]);
    expect(b.segments[0]!.equals(a.segments[0]!)).toBe(true);
    expect(boxType(b.segments[1]!)).toBe('moof');
    expect(relay.opens.length).toBe(opensBefore + 1);
    expect(relay.opens.at(-1)).toMatchObject({ t: 'open', device: 'cam-east', quality: 'main' });
    const sid = relay.opens.at(-1)!.sid;
    expect(await t.metric('rb_video_viewers')).toBe(2);

    await a.close();
    const stillCount = b.segments.length;
    await b.until(() => b.segments.length > stillCount, 5_000, 'the remaining viewer keeps receiving');
    expect(relay.closes).not.toContain(sid);
    const left = Date.now();
    await b.close();
    await eventually(() => relay.closes.includes(sid), LINGER_MS + 1000 + 500, 'close at the relay');
    // closed no sooner than the linger (timers fire late, never early; 100 ms for the sockets' own way)
    expect(Date.now() - left).toBeGreaterThanOrEqual(LINGER_MS - 100);
    const inBytes = await t.metric('rb_video_bytes_total', { direction: 'in' });
    const sent = relay.sent.get(sid);
    await new Promise((r) => setTimeout(r, 700));
    expect(relay.sent.get(sid)).toBe(sent);
    expect(await t.metric('rb_video_bytes_total', { direction: 'in' })).toBe(inBytes);
    expect(await t.metric('rb_video_streams')).toBe(0);

    // each view is audited with how long it was watched
    await eventually(async () => (await t.hub.audit.query({ action: 'video.live' })).items.length >= 2, 5_000, 'audit rows');
    const rows = (await t.hub.audit.query({ action: 'video.live' })).items;
    for (const r of rows.slice(0, 2)) {
      expect(r).toMatchObject({ estate: ESTATE, target: 'device:cam-east', actor: expect.stringMatching(/^user:/) });
      expect(r.detail).toMatchObject({ quality: 'main' });
      expect((r.detail as { durationMs: number }).durationMs).toBeGreaterThan(0);
      expect((r.detail as { bytes: number }).bytes).toBeGreaterThan(0);
    }
  }, 25_000);

  it('keep-alive: the relay link and a viewer that answer pings stay through many rounds; a viewer that stops answering is dropped', async () => {
    const linksBefore = await t.metric('rb_video_relay_links');
    const v = await watchVideo(t.httpUrl, { token: vol, estate: ESTATE, device: 'cam-east', quality: 'sub' });
    await v.until(() => v.segments.length >= 2, 15_000, 'playing');
    // Ten keep-alive rounds (300 ms): still the same relay link, the viewer still receiving.
    await new Promise((r) => setTimeout(r, 3_000));
    const n = v.segments.length;
    await v.until(() => v.segments.length > n, 5_000, 'still receiving after ten rounds');
    expect(await t.metric('rb_video_relay_links')).toBe(linksBefore);
    expect(relay.ws.readyState).toBe(relay.ws.OPEN);
    // A viewer whose socket stops reading never answers a ping: dropped within two rounds or so.
    (v.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // (The paused client cannot see its socket end; the hub's side says it dropped it.)
    await eventually(async () => (await t.metric('rb_video_viewers')) === 0, 5_000, 'the dead viewer dropped by the hub');
    v.ws.terminate();
  }, 30_000);

  it('a volunteer of another estate is told RB_ERR_NOT_FOUND, like for a camera that does not exist, and nothing is opened', async () => {
    const opens = relay.opens.length;
    for (const [token, device] of [[stranger, 'cam-east'], [vol, 'cam-nowhere'], [vol, 'door-east']] as const) {
      const v = await watchVideo(t.httpUrl, { token, estate: ESTATE, device });
      await v.closed;
      expect(v.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_NOT_FOUND' })]);
      expect(v.segments).toEqual([]);
    }
    expect(relay.opens.length).toBe(opens);
  });

  it('a bad, absent or malformed token is RB_ERR_UNAUTHENTICATED', async () => {
    for (const watch of [{ token: 'not-a-token', estate: ESTATE, device: 'cam-east' }, { estate: ESTATE, device: 'cam-east' }, 'hello']) {
      const v = await watchVideo(t.httpUrl, watch);
      await v.closed;
      expect(v.messages).toEqual([expect.objectContaining({ t: 'error', code: 'RB_ERR_UNAUTHENTICATED' })]);
    }
  });

  it('keeps Socket.IO upgrades working beside the video paths', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${t.httpUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    expect(first.startsWith('0{')).toBe(true); // engine.io's open packet
    ws.close();
  });
});
