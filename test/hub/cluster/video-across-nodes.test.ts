import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haproxyConfig } from '../../../lib/cluster/haproxy-config.js';
import type { GatewayCredentials } from '../../../hub/registry.js';
import type { VideoCameraView } from '../../../protocol/video.js';
import { runCli } from '../../support/cli.js';
import { startHaproxy, type Haproxy } from '../../support/haproxy.js';
import { connectGateway, endClient, TEST_API_TOKEN } from '../../support/hub.js';
import { freePort } from '../../support/ports.js';
import { usePostgres } from '../../support/postgres.js';
import { startRedis, type Redis } from '../../support/redis.js';
import { boxType, connectTestRelay, eventually, publishDevices, watchVideo, type TestRelay } from '../../support/video-relay.js';
import { startNode, startNodes, type ClusterNode } from './nodes.js';

/**
 * Live video across hub nodes (issue 20 × issue 18, docs/video.md "Cluster"): two real hub processes
 * on one PostgreSQL and one Redis behind a real HAProxy with the generator's config. A gateway's relay
 * (real H.264 from ffmpeg) reaches node A directly; the cameras view, asked through HAProxy (either
 * node), names node A; a viewer through HAProxy with that `?node=` hint plays; a viewer on node B is
 * told where the relay is; node A killed -9: its row lapses and node B says relay false within the TTL.
 */
const pgServer = usePostgres();
const ESTATE = 'maple';
const TTL_MS = 2_000;
const CAMERA = { device: 'cam-1', ptz: true, profiles: [{ quality: 'main' as const, width: 320, height: 240 }], presets: [{ token: '1', name: 'Gate' }] };

describe('live video across hub nodes (video_relays, HAProxy ?node=)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-video-xnode-'));
  const nodes: ClusterNode[] = [];
  let redis: Redis;
  let haproxy: Haproxy;
  let front: string;
  let creds: GatewayCredentials;
  let relay: TestRelay | undefined;
  let gw: MqttClient | undefined;
  let a: ClusterNode;
  let b: ClusterNode;

  const cameras = async (base: string): Promise<VideoCameraView[]> => {
    const res = await fetch(`${base}/api/v1/video/cameras?estate=${ESTATE}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as VideoCameraView[];
  };
  const url = (n: ClusterNode) => `http://127.0.0.1:${n.httpPort}`;
  const watch = (base: string, query?: string) => watchVideo(base, { token: TEST_API_TOKEN, estate: ESTATE, device: 'cam-1' }, query);

  beforeAll(async () => {
    redis = await startRedis();
    const dbUrl = await pgServer().createDatabase('video_xnode');
    const common = { dbUrl, redisUrl: redis.url, dir, leaseTtl: `${TTL_MS / 1000}s` };
    // A first: it migrates the shared database.
    nodes.push(await startNode({ name: 'hub-a', ...common }));
    await startNodes([{ name: 'hub-b', ...common }], nodes);
    [a, b] = nodes as [ClusterNode, ClusterNode];
    const added = await runCli(['hub', 'gateway', 'add', '--db-url', dbUrl, '--estate', ESTATE, '--gateway', 'gw-1']);
    expect(added.code, added.stderr).toBe(0);
    creds = JSON.parse(added.stdout) as GatewayCredentials;
    const [http, mqtt] = [await freePort(), await freePort()];
    front = `http://127.0.0.1:${http}`;
    const hubs = nodes.map((n) => ({ name: n.name, host: '127.0.0.1', httpPort: n.httpPort, mqttPort: n.mqttPort }));
    haproxy = await startHaproxy(haproxyConfig({ mqttBind: `127.0.0.1:${mqtt}`, httpBind: `127.0.0.1:${http}`, hubs, checkInter: '500ms', maxconn: 500 }), { waitPorts: [http] });
  }, 60_000);
  afterAll(async () => {
    await relay?.close().catch(() => undefined);
    if (gw) await endClient(gw);
    await haproxy?.stop();
    for (const n of nodes) await n.stop('SIGKILL').catch(() => undefined);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes a viewer to the node holding the relay; a dead node’s relay lapses within the TTL', async () => {
    // The camera is in the live state of every node (its gateway's status over MQTT, here through B).
    gw = await publishDevices({ connect: (c) => connectGateway(`mqtt://127.0.0.1:${b.mqttPort}`, c), api: (m, p) => b.api(m, p) }, creds, { 'cam-1': { kind: 'onvif-camera', name: 'Gate camera' } });
    expect((await cameras(url(b)))[0]).toMatchObject({ device: 'cam-1', relay: false });
    expect((await cameras(url(b)))[0]!.node).toBeUndefined();

    relay = await connectTestRelay(url(a), creds, { version: 'test', cameras: [CAMERA] });
    // Node B learns it from the shared table: relay up on hub-a, with what A's hello said (PTZ, presets).
    await eventually(async () => (await cameras(url(b)))[0]?.presets?.length === 1, 10_000, 'node B lists the relay on hub-a');
    expect((await cameras(url(b)))[0]).toMatchObject({ device: 'cam-1', gateway: 'gw-1', name: 'Gate camera', online: true, relay: true, node: 'hub-a', ptz: true, qualities: ['main'], presets: CAMERA.presets });
    expect((await cameras(url(a)))[0]).toMatchObject({ relay: true, node: 'hub-a' });

    // Through HAProxy (round robin, no cookie kept: both nodes answer in turn), the hint is the same.
    const hints = new Set<string | undefined>();
    for (let i = 0; i < 4; i++) hints.add((await cameras(front))[0]!.node);
    expect([...hints]).toEqual(['hub-a']);

    // Viewers through HAProxy with the hint: each lands on hub-a and plays (ready, init, media segments).
    const viewers = [await watch(front, 'node=hub-a'), await watch(front, 'node=hub-a')];
    for (const v of viewers) {
      await v.until(() => v.segments.filter((s) => boxType(s) === 'moof').length >= 2, 15_000, 'two media segments');
      expect(v.messages[0]).toMatchObject({ t: 'ready', width: 320, height: 240 });
      expect(v.messages[0]!.t === 'ready' && v.messages[0]!.mime).toMatch(/^video\/mp4; codecs="avc1\./);
      expect(boxType(v.segments[0]!)).toBe('ftyp');
    }
    // One stream at the gateway for both.
    expect(relay.opens).toHaveLength(1);

    // A stale hint (HAProxy sends it to hub-b) and a socket straight to hub-b: told where the relay is.
    for (const v of [await watch(front, 'node=hub-b'), await watch(url(b))]) {
      await v.until(() => v.messages.length > 0, 5_000, 'an answer');
      expect(v.messages[0]).toMatchObject({ t: 'error', code: 'RB_ERR_GATEWAY_OFFLINE', node: 'hub-a' });
      expect(v.messages[0]!.t === 'error' && v.messages[0]!.message).toContain('hub node hub-a');
      await v.closed;
    }
    for (const v of viewers) await v.close();

    // Node A dies without a word: its row lapses, and B says relay false (no node) within the TTL.
    const killedAt = Date.now();
    a.proc.kill('SIGKILL');
    await eventually(async () => (await cameras(url(b)))[0]?.relay === false, TTL_MS + 5_000, 'node B sees the relay gone');
    const gone = Date.now() - killedAt;
    const view = (await cameras(url(b)))[0]!;
    expect(view).toMatchObject({ device: 'cam-1', relay: false });
    expect(view.node).toBeUndefined();
    console.log(`video across nodes: relay on hub-a seen gone by hub-b ${gone} ms after kill -9 (TTL ${TTL_MS} ms)`);
  }, 40_000);
});
