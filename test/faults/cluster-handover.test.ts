import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../hub/cluster/partition.js';
import { stopProcess } from '../support/cli.js';
import { registerGateways, SimGateway, startHubNode, type HubNode } from '../support/cluster.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { usePostgres } from '../support/postgres.js';

/**
 * Issue 18: partitions move between two hub processes without losing anything.
 * - Rolling restart by SIGTERM: the stopping node hands its partitions over at once (finished work,
 *   saved cursors, released leases, NOTIFY), so the other owns them long before the TTL.
 * - A node paused (SIGSTOP) past its TTL, then resumed: the other takes its partitions with a higher
 *   epoch; the paused one, resumed, gives them up (counted as lost) and can commit nothing for them
 *   (the fence itself is proven in test/hub/cluster/leases.test.ts).
 * Throughout, a stream with forced doors: every acknowledged event stored once, every forced door
 * exactly one alert.
 */
const pgServer = usePostgres({ durable: true });
const GATEWAYS = 10;
const TTL_S = 5;

describe('hub cluster: hand-over and pause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cluster-move-'));
  const procs: HubNode[] = [];
  const gateways: SimGateway[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.close();
    if (process.env.RB_TEST_HUB_LOG) {
      const { writeFileSync } = await import('node:fs');
      for (const [i, n] of procs.entries()) writeFileSync(`/tmp/rb-${n.node}-${i}.log`, n.proc.output());
    }
    for (const n of procs) {
      try {
        process.kill(n.proc.pid!, 'SIGCONT');
      } catch {
        // gone already
      }
      await stopProcess(n.proc);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('rolling restart moves partitions without waiting for the TTL; a paused node loses its partitions; nothing is lost or raised twice', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_move');
    const list = Array.from({ length: GATEWAYS }, (_, i) => ({ estate: `mv-${i + 1}`, gateway: 'gw-1' }));
    const creds = await registerGateways(dbUrl, list);
    const env = { RB_CLUSTER_LEASE_TTL: `${TTL_S}s` };
    const start = async (node: string, again?: HubNode) => {
      // A restarted node comes back on its own ports: the gateways know those.
      const n = await startHubNode(dbUrl, node, dir, env, again);
      procs.push(n);
      return n;
    };
    let a = await start('node-a');
    let b = await start('node-b');
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const owners = async (): Promise<Record<string, number>> => {
      const r = await db.query<{ owner: string | null; n: number }>('SELECT owner, count(*)::int AS n FROM partition_leases WHERE expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint GROUP BY owner');
      return Object.fromEntries(r.rows.map((row) => [row.owner ?? 'none', row.n]));
    };
    const balanced = async () => {
      const o = await owners();
      return Math.abs((o['node-a'] ?? 0) - 32) <= 5 && Math.abs((o['node-b'] ?? 0) - 32) <= 5;
    };
    const metric = async (port: number, name: string): Promise<string> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
    };
    try {
      expect(await waitFor(balanced, 20_000, 100), JSON.stringify(await owners())).toBe(true);
      // Each gateway knows both hubs; half start on each.
      for (const [i, g] of list.entries()) {
        const sim = new SimGateway(g.estate, g.gateway, creds.get(`${g.estate}/${g.gateway}`)!, i % 2 === 0 ? [a.mqttPort, b.mqttPort] : [b.mqttPort, a.mqttPort]);
        await sim.connect();
        gateways.push(sim);
      }
      // A steady stream: every 20th event of a gateway is a forced door on a door of its own.
      const forced: Array<{ estate: string; device: string; at: number }> = [];
      const t00 = Date.now();
      const phases: Record<string, number> = {};
      let running = true;
      const t0 = Date.now() - 3_600_000;
      const streams = gateways.map(async (g, gi) => {
        for (let seq = 1; running; seq++) {
          const isForced = seq % 20 === 0;
          const device = isForced ? `door-${seq}` : 'gate-1';
          const e = makeEvent({ estate: g.estate, gateway: g.gateway, device, seq, ts: t0 + gi * 100_000 + seq, ...(isForced ? { type: 'door.forced' as const, data: { door: 1 } } : { type: 'access.granted' as const, data: { door: 1, method: 'card' } }) });
          await g.send(e);
          if (isForced) forced.push({ estate: g.estate, device, at: Date.now() });
          await sleep(5);
        }
      });

      // 1. Rolling restart: SIGTERM A; B owns everything well before A's leases could have lapsed.
      await sleep(1_500);
      let t = Date.now();
      phases.stopA = t - t00;
      const stopA = stopProcess(a.proc, 'SIGTERM', 20_000);
      expect(await waitFor(async () => (await owners())['node-b'] === 64, TTL_S * 1000, 50), JSON.stringify(await owners())).toBe(true);
      const movedInMs = Date.now() - t;
      expect(await stopA).toBe(0);
      a = await start('node-a', a);
      expect(await waitFor(balanced, 20_000, 100), JSON.stringify(await owners())).toBe(true);
      // And the other one.
      t = Date.now();
      phases.stopB = t - t00;
      const stopB = stopProcess(b.proc, 'SIGTERM', 20_000);
      expect(await waitFor(async () => (await owners())['node-a'] === 64, TTL_S * 1000, 50), JSON.stringify(await owners())).toBe(true);
      const movedBackInMs = Date.now() - t;
      expect(await stopB).toBe(0);
      b = await start('node-b', b);
      expect(await waitFor(balanced, 20_000, 100), JSON.stringify(await owners())).toBe(true);
      expect(Math.max(movedInMs, movedBackInMs), 'partitions moved by hand-over, not by TTL').toBeLessThan(TTL_S * 1000);

      // 2. SIGSTOP A past the TTL: B takes A's partitions with a higher epoch.
      const aParts = (await db.query<{ part: number; epoch: number }>("SELECT part, epoch::int AS epoch FROM partition_leases WHERE owner = 'node-a'")).rows;
      phases.pause = Date.now() - t00;
      process.kill(a.proc.pid!, 'SIGSTOP');
      expect(await waitFor(async () => (await owners())['node-b'] === 64, (TTL_S + 5) * 1000, 100), JSON.stringify(await owners())).toBe(true);
      const after = new Map((await db.query<{ part: number; epoch: number }>('SELECT part, epoch::int AS epoch FROM partition_leases')).rows.map((r) => [r.part, r.epoch]));
      expect(aParts.every((p) => after.get(p.part)! > p.epoch)).toBe(true);
      await sleep(1_000);
      phases.resume = Date.now() - t00;
      process.kill(a.proc.pid!, 'SIGCONT');
      // Resumed, A finds its leases lost (counted), rejoins and gets a share again.
      expect(await waitFor(async () => /why="lost"\} [1-9]/.test(await metric(a.httpPort, 'rb_cluster_partition_moves_total')), 15_000, 200), await metric(a.httpPort, 'rb_cluster_partition_moves_total')).toBe(true);
      expect(await metric(a.httpPort, 'rb_cluster_fenced_writes_total')).not.toBe('');
      expect(await waitFor(balanced, 30_000, 100), JSON.stringify(await owners())).toBe(true);

      running = false;
      await Promise.all(streams);
      expect(gateways.reduce((n, g) => n + g.pending(), 0)).toBe(0);
      const acked = gateways.reduce((n, g) => n + g.acked.size, 0);
      const stored = await db.query<{ rows: number; ids: number }>("SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM event_log WHERE kind = 'event'");
      expect(stored.rows[0]).toEqual({ rows: acked, ids: acked });
      expect(forced.length).toBeGreaterThan(10);
      // Every forced door exactly one alert.
      const missing = async () => {
        const have = new Set((await alertsOf()).map((r) => `${r.estate}/${r.device}`));
        return forced.filter((f) => !have.has(`${f.estate}/${f.device}`)).map((f) => ({ ...f, part: partitionOf(f.estate), at: f.at - t00 }));
      };
      const alertsOf = async () => (await db.query<{ estate: string; device: string; n: number }>("SELECT estate, device, count(*)::int AS n FROM alerts WHERE rule = 'door.forced' GROUP BY estate, device")).rows;
      expect(await waitFor(async () => (await alertsOf()).length === forced.length, (TTL_S + 5) * 1000, 200), `${(await alertsOf()).length} of ${forced.length}; missing ${JSON.stringify(await missing())} phases ${JSON.stringify(phases)}`).toBe(true);
      expect((await alertsOf()).filter((r) => r.n !== 1)).toEqual([]);
      const repeats = await db.query("SELECT id FROM alerts WHERE rule = 'door.forced' AND count <> 1");
      expect(repeats.rows).toEqual([]);
    } finally {
      await db.end();
    }
  }, 180_000);
});
