import { describe, expect, it } from 'vitest';
import { rawQuery } from '../hub/store/influx-support.js';
import { stopProcess } from '../support/cli.js';
import { registerGateways, SimGateway, startHubNode, useClusterWorld } from '../support/cluster.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { usePostgres } from '../support/postgres.js';
import { useInfluxd } from '../support/use-influxd.js';

/**
 * Two hub nodes on one PostgreSQL, writing InfluxDB: each writes the events of the partitions it owns
 * from the event log (its `influx` consumer, a cursor per partition). One node is killed -9
 * mid-stream: the survivor takes its partitions over from their cursors, and InfluxDB ends up with
 * every acknowledged event exactly once.
 */
const pgServer = usePostgres({ durable: true });
const influx = useInfluxd();
const GATEWAYS = 8;
const PER_GATEWAY = 200;
const TTL_S = 4;

describe('hub cluster on InfluxDB: a node killed -9 mid-stream', () => {
  const { dir, nodes, gateways } = useClusterWorld('rb-cluster-influx-');

  it('writes every acknowledged event to InfluxDB once', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_influx');
    const db = 'rb_cluster_influx';
    const list = Array.from({ length: GATEWAYS }, (_, i) => ({ estate: `est-${i + 1}`, gateway: 'gw-1' }));
    const creds = await registerGateways(dbUrl, list);
    const env = { RB_CLUSTER_LEASE_TTL: `${TTL_S}s`, RB_INFLUX_URL: `${influx().url}/${db}` };
    const a = await startHubNode(dbUrl, 'node-a', dir, env);
    nodes.push(a);
    const b = await startHubNode(dbUrl, 'node-b', dir, env);
    nodes.push(b);
    for (const [i, g] of list.entries()) {
      const ports = i % 2 === 0 ? [a.mqttPort, b.mqttPort] : [b.mqttPort, a.mqttPort];
      const sim = new SimGateway(g.estate, g.gateway, creds.get(`${g.estate}/${g.gateway}`)!, ports);
      await sim.connect();
      gateways.push(sim);
    }
    const totalAcked = () => gateways.reduce((n, g) => n + g.acked.size, 0);
    const t0 = Date.now() - 3_600_000;
    const streams = gateways.map(async (g, gi) => {
      const window: Array<Promise<void>> = [];
      for (let seq = 1; seq <= PER_GATEWAY; seq++) {
        window.push(g.send(makeEvent({ estate: g.estate, gateway: g.gateway, device: 'gate-1', seq, ts: t0 + gi * 1000 + seq })));
        if (window.length >= 10) await Promise.all(window.splice(0, 5));
        await sleep(20);
      }
      await Promise.all(window);
    });
    const killer = (async () => {
      expect(await waitFor(() => totalAcked() >= (GATEWAYS * PER_GATEWAY * 2) / 5, 60_000, 20)).toBe(true);
      await stopProcess(a.proc, 'SIGKILL');
    })();
    await Promise.all(streams);
    await killer;
    const acked = new Set(gateways.flatMap((g) => [...g.acked.keys()]));
    expect(acked.size).toBe(GATEWAYS * PER_GATEWAY);

    // The survivor takes node A's partitions over (TTL) and writes what A had not, from the cursors.
    const ids = async (): Promise<string[]> => (await rawQuery(influx().url, db, 'SELECT "id" FROM "raw"."events"')).flatMap((s) => s.values.map((v) => String(v[1])));
    expect(await waitFor(async () => (await ids()).length >= acked.size, (TTL_S + 30) * 1000, 250)).toBe(true);
    await sleep(1_000);
    const written = await ids();
    expect(new Set(written).size).toBe(written.length); // InfluxDB keys a point by series and time: none twice
    expect([...acked].filter((id) => !written.includes(id))).toEqual([]);
    expect(written.length).toBe(acked.size);
  }, 150_000);
});
