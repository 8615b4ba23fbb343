import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../hub/cluster/partition.js';
import { stopProcess } from '../support/cli.js';
import { registerGateways, SimGateway, startHubNode, type HubNode } from '../support/cluster.js';
import { balanced, leaseOwners, seedOnDuty } from '../support/cluster-people.js';
import { makeEvent, waitFor } from '../support/hub.js';
import { usePostgres } from '../support/postgres.js';

/**
 * Issue 18, "Must show": a node killed -9 while it owns estates with an open alarm. The on-duty
 * volunteer's screen is connected to the OTHER node. After the lease TTL the survivor owns the dead
 * node's partitions: the escalation that fell due during the outage fires once, there, and a door
 * forced at one of those estates after the kill reaches the volunteer's socket as `alert:notify`.
 */
const pgServer = usePostgres({ durable: true });
const ESTATES = 8;
const TTL_S = 6;
/** Level 1 this long after an alert opened: after the kill, before the survivor can take over. */
const ESC_S = 4;

type Notify = { alert: { id: string; estate: string; device: string }; level: number; reason: string };

describe('hub cluster: a node killed -9, the volunteer on the survivor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cluster-notify-'));
  const nodes: HubNode[] = [];
  const gateways: SimGateway[] = [];
  let screen: Socket | undefined;
  afterAll(async () => {
    screen?.close();
    for (const g of gateways) await g.close();
    for (const n of nodes) await stopProcess(n.proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the survivor escalates once what fell due and notifies the volunteer connected to it', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_notify');
    const list = Array.from({ length: ESTATES }, (_, i) => ({ estate: `kn-${i + 1}`, gateway: 'gw-1' }));
    const creds = await registerGateways(dbUrl, list);
    const vol = await seedOnDuty(dbUrl, list.map((g) => g.estate), { escalation: { ackMinutes: [ESC_S / 60, 600, 1200], renotifyMinutes: 0 } });
    const env = { RB_CLUSTER_LEASE_TTL: `${TTL_S}s` };
    const a = await startHubNode(dbUrl, 'node-a', dir, env);
    nodes.push(a);
    const b = await startHubNode(dbUrl, 'node-b', dir, env);
    nodes.push(b);
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      expect(await waitFor(() => balanced(db), 20_000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);
      const ownedByA = new Set((await db.query<{ part: number }>("SELECT part FROM partition_leases WHERE owner = 'node-a'")).rows.map((r) => r.part));
      const target = list.find((g) => ownedByA.has(partitionOf(g.estate)));
      expect(target, `an estate of node A among ${list.map((g) => `${g.estate}:${partitionOf(g.estate)}`).join(' ')}`).toBeDefined();
      const estate = target!.estate;

      // The volunteer's screen, on node B.
      const notified: Notify[] = [];
      screen = io(`http://127.0.0.1:${b.httpPort}`, { transports: ['websocket'], reconnection: false, auth: { token: vol.token } });
      screen.on('alert:notify', (envelope: { data: Notify }) => void notified.push(envelope.data));
      await new Promise<void>((resolve, reject) => {
        screen!.once('connect', () => resolve());
        screen!.once('connect_error', reject);
      });

      // The estate's gateway is on node A, which owns the estate: a forced door, raised there.
      const gw = new SimGateway(estate, 'gw-1', creds.get(`${estate}/gw-1`)!, [a.mqttPort, b.mqttPort]);
      await gw.connect();
      gateways.push(gw);
      await gw.send(makeEvent({ estate, gateway: 'gw-1', device: 'door-1', type: 'door.forced', data: { door: 1 } }));
      const alertOf = async (device: string) => (await db.query<{ id: string; opened_at: string; level: number }>('SELECT id, opened_at, level FROM alerts WHERE estate = $1 AND device = $2', [estate, device])).rows;
      expect(await waitFor(async () => (await alertOf('door-1')).length === 1, 10_000, 50)).toBe(true);
      // The volunteer was told by A, through the cluster's push (level 0, before the kill).
      const first = (await alertOf('door-1'))[0]!;

      await stopProcess(a.proc, 'SIGKILL');
      const killedAt = Date.now();
      expect(first.level).toBe(0);
      expect(Number(first.opened_at) + ESC_S * 1000, 'level 1 falls due after the kill').toBeGreaterThan(killedAt);

      // The gateway moves to B, which acknowledges a second forced door of the dead node's estate.
      await gw.send(makeEvent({ estate, gateway: 'gw-1', device: 'door-2', type: 'door.forced', data: { door: 1 } }));
      expect(gw.moves).toBeGreaterThanOrEqual(1);

      // B takes every partition after the TTL.
      expect(await waitFor(async () => (await leaseOwners(db))['node-b'] === 64, (TTL_S + 10) * 1000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);

      // The volunteer's socket on B gets the new alarm, and the escalation of the first one.
      const second = async () => (await alertOf('door-2'))[0];
      expect(await waitFor(async () => (await second()) !== undefined && (await alertOf('door-1'))[0]!.level === 1, 15_000, 100)).toBe(true);
      const secondId = (await second())!.id;
      expect(await waitFor(() => notified.some((n) => n.alert.id === secondId) && notified.some((n) => n.alert.id === first.id && n.level === 1), 10_000, 50), JSON.stringify(notified)).toBe(true);
      expect(notified.filter((n) => n.alert.id === secondId)).toMatchObject([{ level: 0, reason: 'new', alert: { estate, device: 'door-2' } }]);
      expect(notified.filter((n) => n.alert.id === first.id && n.level === 1)).toMatchObject([{ reason: 'escalated' }]);

      // Once: one escalated transition after the kill, one notification per level.
      const escalated = await db.query<{ at: string }>("SELECT at FROM alert_transitions WHERE alert = $1 AND \"to\" = 'escalated'", [first.id]);
      expect(escalated.rows.length).toBe(1);
      expect(Number(escalated.rows[0]!.at)).toBeGreaterThan(killedAt);
      const levels = await db.query<{ alert: string; level: number; n: number }>("SELECT alert, level, count(*)::int AS n FROM alert_activity WHERE kind = 'notified' GROUP BY alert, level ORDER BY alert, level");
      expect(levels.rows.filter((r) => r.n !== 1)).toEqual([]);
      expect(levels.rows.filter((r) => r.alert === first.id).map((r) => r.level)).toEqual([0, 1]);
      expect(levels.rows.filter((r) => r.alert === secondId).map((r) => r.level)[0]).toBe(0);
      expect((await db.query("SELECT id FROM alerts WHERE rule = 'door.forced'")).rows.length).toBe(2);
    } finally {
      await db.end();
    }
  }, 90_000);
});
