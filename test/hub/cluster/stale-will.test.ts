import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/main.js';
import { gatewayConfig, startGatewayInProcess } from '../../support/gateway.js';
import { sleep, TEST_API_TOKEN, waitFor } from '../../support/hub.js';
import { registerGateways } from '../../support/cluster.js';
import { usePostgres } from '../../support/postgres.js';
import { startRedis, type Redis } from '../../support/redis.js';
import { logRows, startNodes, type ClusterNode } from './nodes.js';

/**
 * Issue 18 item 4, the stale Last Will: a gateway on node A moves to node B when A is killed -9. A's
 * aedes kept the gateway's will in Redis; B's aedes publishes it late, once A has been silent for 3
 * broker heartbeats (`cluster.brokerHeartbeatMs`, 1 s here), while the gateway is connected to B. That
 * will must not be ingested: no offline status or will of the gateway is logged after the move (the
 * event log is what the live state, the push log and the devices table are made from), and B's live
 * state shows it online throughout.
 *
 * And the other side: a gateway on A that never comes back (it knows only A) must not stay
 * "connected" for good. B believes its will once it has stayed silent for `cluster.orphanWillGraceMs`
 * (hub/broker/orphans.ts), and shows it offline.
 */
const pgServer = usePostgres();
const ESTATE = 'cluster-will';
/** Its gateway knows only node A. */
const LOST = 'cluster-will-lost';

describe('a gateway that moved to another node is never marked offline by its old Last Will', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cluster-will-'));
  const nodes: ClusterNode[] = [];
  let redis: Redis | undefined;
  let gateway: Gateway | undefined;
  let lost: Gateway | undefined;
  let socket: Socket | undefined;
  afterAll(async () => {
    socket?.close();
    await gateway?.stop();
    await lost?.stop();
    for (const n of nodes) await n.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('node A killed -9: the gateway moves to B, A\'s will comes late from Redis and is dropped', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_will');
    redis = await startRedis();
    // The database migrated and the gateway registered first, then both nodes at once.
    const registered = await registerGateways(dbUrl, [{ estate: ESTATE, gateway: 'gw-1' }, { estate: LOST, gateway: 'gw-lost' }]);
    const creds = { estate: ESTATE, gateway: 'gw-1', ...registered.get(`${ESTATE}/gw-1`)! };
    const options = { dbUrl, redisUrl: redis.url, dir, heartbeatMs: 1000, leaseTtl: '3s', orphanWillGraceMs: 3000 };
    const [a, b] = (await startNodes([{ name: 'node-a', ...options }, { name: 'node-b', ...options }], nodes)) as [ClusterNode, ClusterNode];
    lost = await startGatewayInProcess(gatewayConfig({ creds: { estate: LOST, gateway: 'gw-lost', ...registered.get(`${LOST}/gw-lost`)! }, mqttPort: a.mqttPort, dataDir: join(dir, 'gw-lost'), heartbeatS: 1 }));
    const raw = gatewayConfig({ creds, mqttPort: a.mqttPort, dataDir: join(dir, 'gw'), heartbeatS: 1 });
    (raw.hub as { url: string }).url = `mqtt://127.0.0.1:${a.mqttPort},mqtt://127.0.0.1:${b.mqttPort}`;
    gateway = await startGatewayInProcess(raw);
    expect(await waitFor(async () => (await a.gateways()) === 2, 15_000, 100), 'both gateways on node A').toBe(true);
    // A screen on B: what the gateway's statuses and live state push there.
    const pushed: Array<{ what: string; online: boolean }> = [];
    socket = ioClient(`http://127.0.0.1:${b.httpPort}`, { auth: { token: TEST_API_TOKEN }, transports: ['websocket'] });
    socket.on('gateway:status', (env: { data: { gateway: string; state: string } }) => {
      if (env.data.gateway === 'gw-1') pushed.push({ what: 'status', online: env.data.state === 'online' });
    });
    socket.on('device:state', (env: { data: { kind: string; key: string; value: { online: boolean } } }) => {
      if (env.data.kind === 'gateway' && env.data.key === 'gw-1') pushed.push({ what: 'state', online: env.data.value.online });
    });
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', () => resolve());
      socket!.once('connect_error', reject);
    });
    // Both nodes have heard each other's heartbeats before the kill.
    await sleep(1500);

    await a.stop('SIGKILL');
    expect(await waitFor(async () => (await b.gateways()) === 1, 15_000, 100), 'gateway on node B').toBe(true);
    const moved = Number((await logRows(dbUrl, "SELECT max(pos) AS pos FROM event_log WHERE kind = 'connection' AND estate = $1", [ESTATE]))[0]!.pos);

    const since = async () => {
      const rows = await logRows(dbUrl, "SELECT kind, body FROM event_log WHERE estate = $1 AND pos > $2 AND kind IN ('status', 'connection') ORDER BY pos", [ESTATE, moved]);
      const offline = rows.filter((r) => {
        const body = (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as { state?: string; connected?: boolean };
        return r.kind === 'status' ? body.state === 'offline' : body.connected === false;
      });
      return { rows: rows.length, offline };
    };

    // A is dead to B after 3 silent heartbeats; B sweeps wills every 4: A's will is published within
    // about 8 s, and then either dropped (counted) or logged as an offline status.
    const t0 = Date.now();
    const fired = async () => (await b.metric('rb_mqtt_stale_wills_total')) >= 1 || (await since()).offline.length > 0;
    expect(await waitFor(fired, 15_000, 200), "B published A's will late").toBe(true);
    console.log(`[cluster] A's Last Will published by B ${Date.now() - t0} ms after the move`);
    // Heartbeats after the will still arrive and are stored.
    await sleep(1500);
    const after = await since();
    expect(after.offline, 'nothing says the gateway is offline after it moved').toEqual([]);
    expect(after.rows, 'statuses keep coming after the move').toBeGreaterThan(0);
    expect(await b.metric('rb_mqtt_stale_wills_total'), 'the late will was dropped as stale').toBeGreaterThanOrEqual(1);

    // B owns the estate once A's leases lapse (3 s): its live state, resumed from the log A and B
    // wrote, shows the gateway online, and B's screen never sees it offline from then on.
    const gw = async () => ((await b.api('GET', `/api/v1/state/estates/${ESTATE}`)).json.gateways as Array<Record<string, unknown>> | undefined)?.find((g) => g.gateway === 'gw-1');
    expect(await waitFor(async () => (await gw())?.online === true, 15_000, 200), 'B shows the gateway online').toBe(true);
    expect(await gw()).toMatchObject({ online: true, connected: true, state: 'online' });
    await sleep(1500);
    const first = pushed.findIndex((p) => p.what === 'state' && p.online);
    expect(first, JSON.stringify(pushed)).toBeGreaterThanOrEqual(0);
    expect(pushed.slice(first).filter((p) => !p.online), JSON.stringify(pushed)).toEqual([]);
    expect(await gw()).toMatchObject({ online: true, connected: true });

    // The gateway that knows only A: its will, published by B like the other's, is believed once
    // it has stayed silent for the grace (3 s), and B shows it offline, not connected.
    const lostGw = async () => ((await b.api('GET', `/api/v1/state/estates/${LOST}`)).json.gateways as Array<Record<string, unknown>> | undefined)?.find((g) => g.gateway === 'gw-lost');
    expect(await waitFor(async () => (await lostGw())?.connected === false, 20_000, 200), `B shows the lost gateway offline: ${JSON.stringify(await lostGw())}`).toBe(true);
    expect(await lostGw()).toMatchObject({ online: false, connected: false, state: 'offline' });
    const lostLog = await logRows(dbUrl, "SELECT body FROM event_log WHERE estate = $1 AND kind = 'status' ORDER BY pos DESC LIMIT 1", [LOST]);
    expect((typeof lostLog[0]!.body === 'string' ? JSON.parse(lostLog[0]!.body) : lostLog[0]!.body) as Record<string, unknown>).toMatchObject({ state: 'offline', reason: 'lwt' });
  }, 90_000);
});
