import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../hub/cluster/partition.js';
import { stopProcess } from '../../support/cli.js';
import { registerGateways, SimGateway, startHubNode, type HubNode } from '../../support/cluster.js';
import { makeEvent, TEST_API_TOKEN, waitFor } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';

/**
 * Issue 18: the owner checkpoints its rule memory with its log cursor, and a new owner resumes from
 * it. A door opened on node A's estate and left open: A hands the estate over at SIGTERM before the
 * door has been open `heldS`; node B, which never saw the door open (it was not the owner), raises
 * door.held when the time is up. Before, B knew only the open alerts, and the door was never judged
 * held. The short held time is saved through A: B reads it again when A's NOTIFY says so (alert
 * settings live in each node's memory).
 */
const pgServer = usePostgres();
const ESTATE = 'ck-1';
const HELD_S = 6;

describe('hub cluster: rule memory goes with the estate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cluster-ck-'));
  const procs: HubNode[] = [];
  let gateway: SimGateway | undefined;
  afterAll(async () => {
    await gateway?.close();
    for (const n of procs) await stopProcess(n.proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a door held open across a hand-over is raised by the new owner at its time, once', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_ck');
    const creds = await registerGateways(dbUrl, [{ estate: ESTATE, gateway: 'gw-1' }]);
    const env = { RB_CLUSTER_LEASE_TTL: '5s', RB_AUTH_API_TOKEN: TEST_API_TOKEN };
    const a = await startHubNode(dbUrl, 'node-a', dir, env);
    procs.push(a);
    const b = await startHubNode(dbUrl, 'node-b', dir, env);
    procs.push(b);
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      const owner = async () => (await db.query<{ owner: string | null }>('SELECT owner FROM partition_leases WHERE part = $1', [partitionOf(ESTATE)])).rows[0]?.owner;
      const shares = async () => (await db.query<{ owner: string; n: number }>('SELECT owner, count(*)::int AS n FROM partition_leases WHERE owner IS NOT NULL GROUP BY owner')).rows;
      expect(await waitFor(async () => (await shares()).length === 2 && (await shares()).every((r) => r.n === 32), 30_000, 100), JSON.stringify(await shares())).toBe(true);
      // "A" is whichever node owns the estate; "B" the other.
      const [from, to] = (await owner()) === 'node-a' ? [a, b] : [b, a];
      // A short held time, saved through A only.
      const put = await fetch(`http://127.0.0.1:${from.httpPort}/api/v1/estates/${ESTATE}/alert-settings`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TEST_API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rules: { 'door.held': { heldS: HELD_S } } }),
      });
      expect(put.status).toBe(200);
      const heldOn = async (n: HubNode) => ((await (await fetch(`http://127.0.0.1:${n.httpPort}/api/v1/estates/${ESTATE}/alert-settings`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } })).json()) as { rules: Record<string, { heldS?: number }> }).rules['door.held']?.heldS;
      expect(await waitFor(async () => (await heldOn(to)) === HELD_S, 5_000, 100), 'B read the settings saved through A').toBe(true);

      // The door opens on A's watch (the gateway delivers through A).
      gateway = new SimGateway(ESTATE, 'gw-1', creds.get(`${ESTATE}/gw-1`)!, [from.mqttPort, to.mqttPort]);
      await gateway.connect();
      const opened = Date.now();
      await gateway.send(makeEvent({ estate: ESTATE, gateway: 'gw-1', device: 'door-1', seq: 1, type: 'door.opened', data: { door: 1 } }));
      // Checkpointed with A's cursor.
      const checkpoint = async () => (await db.query<{ memory: string }>('SELECT memory FROM rule_checkpoints WHERE estate = $1', [ESTATE])).rows[0]?.memory ?? '';
      expect(await waitFor(async () => (await checkpoint()).includes('door-1'), 10_000, 100), 'A checkpointed the open door').toBe(true);

      // A hands over at SIGTERM, well before the door has been open HELD_S.
      expect(await owner()).toBe(from.node);
      expect(Date.now() - opened).toBeLessThan(HELD_S * 1000);
      expect(await stopProcess(from.proc, 'SIGTERM', 20_000)).toBe(0);
      expect(await waitFor(async () => (await owner()) === to.node, 10_000, 100), 'the other node owns the estate').toBe(true);

      // The new owner raises door.held when the door has been open HELD_S, once.
      const held = async () => (await db.query<{ n: number; opened_at: string }>("SELECT count(*)::int AS n, min(opened_at)::text AS opened_at FROM alerts WHERE estate = $1 AND rule = 'door.held'", [ESTATE])).rows[0]!;
      expect(await waitFor(async () => (await held()).n > 0, (HELD_S + 10) * 1000, 200), 'door.held raised by the new owner').toBe(true);
      const raisedAt = Number((await held()).opened_at);
      expect(raisedAt - opened).toBeGreaterThanOrEqual(HELD_S * 1000 - 1000);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await held()).n).toBe(1);
    } finally {
      await db.end();
    }
  }, 90_000);
});
