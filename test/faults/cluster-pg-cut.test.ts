import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { stopProcess } from '../support/cli.js';
import { registerGateways, SimGateway, startHubNode, type HubNode } from '../support/cluster.js';
import { balanced, leaseOwners, metricLines, metricOf } from '../support/cluster-people.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { usePostgres } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Issue 18, "Must show": a node cut from PostgreSQL. Node A reaches the database only through a TCP
 * proxy, which the test cuts (every connection reset, new ones refused) under a stream with forced
 * doors. Node B takes A's partitions after the TTL (higher epochs); A, cut off, gives them up (counted
 * as lost) and, once the link is back, can commit nothing for them (each forced door exactly one
 * alert; fenced writes counted on its /metrics); it rejoins and the partitions split 32 ± 5 again.
 */
const pgServer = usePostgres({ durable: true });
const GATEWAYS = 6;
const TTL_S = 3;

describe('hub cluster: a node cut from PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cluster-cut-'));
  const nodes: HubNode[] = [];
  const gateways: SimGateway[] = [];
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    for (const g of gateways) await g.close();
    for (const n of nodes) await stopProcess(n.proc);
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the other node takes its partitions after the TTL; it commits nothing for them; back, it rejoins', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_cut');
    const list = Array.from({ length: GATEWAYS }, (_, i) => ({ estate: `cut-${i + 1}`, gateway: 'gw-1' }));
    const creds = await registerGateways(dbUrl, list);
    proxy = await startTcpProxy(pgServer().port);
    const viaProxy = dbUrl.replace(`:${pgServer().port}/`, `:${proxy.port}/`);
    expect(viaProxy).not.toBe(dbUrl);
    const env = { RB_CLUSTER_LEASE_TTL: `${TTL_S}s` };
    const a = await startHubNode(viaProxy, 'node-a', dir, env);
    nodes.push(a);
    const b = await startHubNode(dbUrl, 'node-b', dir, env);
    nodes.push(b);
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      expect(await waitFor(() => balanced(db), 20_000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);
      const aParts = (await db.query<{ part: number; epoch: number }>("SELECT part, epoch::int AS epoch FROM partition_leases WHERE owner = 'node-a'")).rows;
      // The gateways are on B (A cannot acknowledge anything while it is cut); A runs the alerts of its estates.
      for (const g of list) {
        const sim = new SimGateway(g.estate, g.gateway, creds.get(`${g.estate}/${g.gateway}`)!, [b.mqttPort, a.mqttPort]);
        await sim.connect();
        gateways.push(sim);
      }
      const forced: Array<{ estate: string; device: string }> = [];
      let running = true;
      const streams = gateways.map(async (g) => {
        for (let seq = 1; running; seq++) {
          const isForced = seq % 5 === 0;
          const device = isForced ? `door-${seq}` : 'gate-1';
          await g.send(isForced ? makeEvent({ estate: g.estate, gateway: g.gateway, device, type: 'door.forced', data: { door: 1 } }) : makeEvent({ estate: g.estate, gateway: g.gateway, device, type: 'access.granted', data: { door: 1, method: 'card' } }));
          if (isForced) forced.push({ estate: g.estate, device });
          await sleep(20);
        }
      });
      await sleep(1_500);

      // Cut A from PostgreSQL: every connection reset, new ones refused.
      proxy.setDown(true);
      proxy.cut();
      const cutAt = Date.now();
      expect(await waitFor(async () => (await leaseOwners(db))['node-b'] === 64, (TTL_S + 10) * 1000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);
      const tookOverInMs = Date.now() - cutAt;
      const after = new Map((await db.query<{ part: number; epoch: number }>('SELECT part, epoch::int AS epoch FROM partition_leases')).rows.map((r) => [r.part, r.epoch]));
      expect(aParts.filter((p) => !(after.get(p.part)! > p.epoch))).toEqual([]);
      await sleep(1_000);

      // The link comes back: A finds its leases gone (counted), and rejoins.
      proxy.setDown(false);
      expect(await waitFor(async () => (await metricOf(a.httpPort, 'rb_cluster_partition_moves_total', { why: 'lost' })) >= aParts.length, 15_000, 200), await metricLines(a.httpPort, 'rb_cluster_partition_moves_total')).toBe(true);
      expect(await waitFor(() => balanced(db), 30_000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);
      await sleep(1_000);
      running = false;
      await Promise.all(streams);
      expect(gateways.reduce((n, g) => n + g.pending(), 0)).toBe(0);

      const acked = gateways.reduce((n, g) => n + g.acked.size, 0);
      const stored = await db.query<{ rows: number; ids: number }>("SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM event_log WHERE kind = 'event'");
      expect(stored.rows[0]).toEqual({ rows: acked, ids: acked });
      // Every forced door exactly one alert, holding its one event: nothing A did after the takeover doubled one.
      const alerts = async () => (await db.query<{ estate: string; device: string; n: number; count: number }>("SELECT estate, device, count(*)::int AS n, max(count)::int AS count FROM alerts WHERE rule = 'door.forced' GROUP BY estate, device")).rows;
      expect(await waitFor(async () => (await alerts()).length >= forced.length, (TTL_S + 10) * 1000, 200), `${(await alerts()).length} of ${forced.length}`).toBe(true);
      expect((await alerts()).length).toBe(forced.length);
      expect((await alerts()).filter((r) => r.n !== 1 || r.count !== 1)).toEqual([]);
      // A's refused owner writes are counted (the series is there; how many depends on what was in flight at the cut).
      const fenced = await metricLines(a.httpPort, 'rb_cluster_fenced_writes_total');
      expect(fenced).toMatch(/rb_cluster_fenced_writes_total\{what="alert"\} \d+/);
      console.log(`[cluster-pg-cut] ${acked} events, ${forced.length} forced doors; B took A's ${aParts.length} partitions ${tookOverInMs} ms after the cut; A fenced: ${fenced.replace(/\n/g, ', ')}`);
    } finally {
      await db.end();
    }
  }, 90_000);
});
