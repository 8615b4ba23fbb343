import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { registerGateways, SimGateway, startHubNode, useClusterWorld } from '../support/cluster.js';
import { balanced, leaseOwners, seedOnDuty } from '../support/cluster-people.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { usePostgres } from '../support/postgres.js';

/**
 * Issue 18, "Must show": PostgreSQL killed -9 and restarted under a stream with forced doors, two hub
 * processes on it. While it is down no event is acknowledged (the gateways keep them); afterwards
 * every acknowledged event is stored once, every forced door has one alert, and every escalation
 * (level 1 after ESC_S here) happened once, including one that fell due during the outage.
 */
const pgServer = usePostgres({ durable: true });
const GATEWAYS = 6;
const TTL_S = 5;
/** Level 1 this long after an alert opened without an acknowledgement. */
const ESC_S = 5;

describe('hub cluster: PostgreSQL killed -9 and restarted', () => {
  const { dir, nodes, gateways } = useClusterWorld('rb-cluster-pgkill-');

  it('no PUBACK while it is down; afterwards every event stored once, no double alert, no double escalation', async () => {
    const dbUrl = await pgServer().createDatabase('cluster_pg_kill');
    const list = Array.from({ length: GATEWAYS }, (_, i) => ({ estate: `pk-${i + 1}`, gateway: 'gw-1' }));
    const creds = await registerGateways(dbUrl, list);
    const vol = await seedOnDuty(dbUrl, list.map((g) => g.estate), { escalation: { ackMinutes: [ESC_S / 60, 600, 1200], renotifyMinutes: 0 } });
    const env = { RB_CLUSTER_LEASE_TTL: `${TTL_S}s` };
    const a = await startHubNode(dbUrl, 'node-a', dir, env);
    nodes.push(a);
    const b = await startHubNode(dbUrl, 'node-b', dir, env);
    nodes.push(b);
    let db = new pg.Client({ connectionString: dbUrl });
    db.on('error', () => undefined);
    await db.connect();
    try {
      expect(await waitFor(() => balanced(db), 20_000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);
      for (const [i, g] of list.entries()) {
        const sim = new SimGateway(g.estate, g.gateway, creds.get(`${g.estate}/${g.gateway}`)!, i % 2 === 0 ? [a.mqttPort, b.mqttPort] : [b.mqttPort, a.mqttPort]);
        await sim.connect();
        gateways.push(sim);
      }
      const forced: Array<{ estate: string; device: string }> = [];
      const doorForced = (g: SimGateway, device: string) => makeEvent({ estate: g.estate, gateway: g.gateway, device, type: 'door.forced', data: { door: 1 } });

      // The alarm whose escalation falls due during the outage: open (level 0 notified) before it.
      const first = gateways[0]!;
      await first.send(doorForced(first, 'door-esc'));
      forced.push({ estate: first.estate, device: 'door-esc' });
      const escAlert = async () => (await db.query<{ id: string; opened_at: string; level: number }>("SELECT id, opened_at, level FROM alerts WHERE device = 'door-esc'")).rows[0];
      expect(await waitFor(async () => (await escAlert()) !== undefined, 10_000, 50)).toBe(true);

      // A steady stream on every gateway: every 10th event a forced door on a door of its own.
      let running = true;
      const streams = gateways.map(async (g) => {
        for (let seq = 1; running; seq++) {
          const isForced = seq % 10 === 0;
          const device = isForced ? `door-${seq}` : 'gate-1';
          const e = isForced ? doorForced(g, device) : makeEvent({ estate: g.estate, gateway: g.gateway, device, type: 'access.granted', data: { door: 1, method: 'card' } });
          await g.send(e);
          if (isForced) forced.push({ estate: g.estate, device });
          await sleep(20);
        }
      });
      await sleep(500);

      const esc = (await escAlert())!;
      await pgServer().kill9();
      const killedAt = Date.now();
      await db.end().catch(() => undefined);
      // Sent while PostgreSQL is down: not acknowledged (no PUBACK without a COMMIT).
      const probe = makeEvent({ estate: gateways[1]!.estate, gateway: 'gw-1', device: 'door-probe', type: 'door.forced', data: { door: 1 } });
      const probeSent = gateways[1]!.send(probe).then(() => forced.push({ estate: probe.estate, device: 'door-probe' }));
      // Down long enough for the leases to lapse and for the escalation to fall due.
      await sleep(Math.max(TTL_S * 1000 + 1_000, Number(esc.opened_at) + ESC_S * 1000 + 1_000 - Date.now()));
      const restartAt = Date.now();
      expect(gateways[1]!.acked.has(probe.id), 'acknowledged while PostgreSQL was down').toBe(false);
      // A PUBACK of a commit just before the kill may still arrive in its first moments; none later.
      const ackedDown = gateways.flatMap((g) => [...g.acked.values()]).filter((t) => t > killedAt + 500 && t < restartAt);
      expect(ackedDown, 'acknowledgements while PostgreSQL was down').toEqual([]);
      await pgServer().restart();
      db = new pg.Client({ connectionString: dbUrl });
      db.on('error', () => undefined);
      await db.connect();
      await probeSent;
      expect(gateways[1]!.acked.get(probe.id)!).toBeGreaterThanOrEqual(restartAt);

      // Both nodes take their share again, and the stream goes on a little.
      expect(await waitFor(() => balanced(db), 30_000, 100), JSON.stringify(await leaseOwners(db))).toBe(true);
      await sleep(1_000);
      running = false;
      await Promise.all(streams);
      expect(gateways.reduce((n, g) => n + g.pending(), 0)).toBe(0);

      // Stored exactly once.
      const acked = gateways.reduce((n, g) => n + g.acked.size, 0);
      const stored = await db.query<{ rows: number; ids: number }>("SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM event_log WHERE kind = 'event'");
      expect(stored.rows[0]).toEqual({ rows: acked, ids: acked });

      // Every forced door exactly one alert, and (ESC_S after it opened) exactly one escalation.
      const alerts = async () => (await db.query<{ id: string; estate: string; device: string; level: number; count: number }>("SELECT id, estate, device, level, count FROM alerts WHERE rule = 'door.forced'")).rows;
      const missing = (rows: Array<{ estate: string; device: string }>) => {
        const have = new Set(rows.map((r) => `${r.estate}/${r.device}`));
        return forced.filter((f) => !have.has(`${f.estate}/${f.device}`));
      };
      const done = await waitFor(async () => {
        const now = await alerts();
        return now.length >= forced.length && now.every((r) => r.level >= 1);
      }, (TTL_S + ESC_S + 10) * 1000, 200);
      const rows = await alerts();
      expect(done, JSON.stringify({ missing: missing(rows), belowLevel1: rows.filter((r) => r.level < 1) })).toBe(true);
      expect(rows.length).toBe(forced.length);
      expect(new Set(rows.map((r) => `${r.estate}/${r.device}`)).size).toBe(forced.length);
      expect(rows.filter((r) => r.count !== 1 || r.level !== 1)).toEqual([]);
      const transitions = await db.query<{ alert: string; n: number }>("SELECT alert, count(*)::int AS n FROM alert_transitions WHERE \"to\" = 'escalated' GROUP BY alert");
      expect(transitions.rows.length).toBe(forced.length);
      expect(transitions.rows.filter((r) => r.n !== 1)).toEqual([]);
      const notified = await db.query<{ alert: string; level: number; n: number }>("SELECT alert, level, count(*)::int AS n FROM alert_activity WHERE kind = 'notified' GROUP BY alert, level");
      expect(notified.rows.length).toBe(forced.length * 2);
      expect(notified.rows.filter((r) => r.n !== 1)).toEqual([]);
      expect(new Set(notified.rows.map((r) => r.level))).toEqual(new Set([0, 1]));
      const reached = await db.query<{ actor: string }>("SELECT DISTINCT actor FROM alert_activity WHERE kind = 'notified'");
      expect(reached.rows.map((r) => r.actor)).toEqual([`user:${vol.userId}`]);

      // The one due during the outage: escalated after the restart, once.
      const escAt = await db.query<{ at: string }>("SELECT at FROM alert_transitions WHERE alert = $1 AND \"to\" = 'escalated'", [esc.id]);
      expect(Number(esc.opened_at) + ESC_S * 1000).toBeLessThan(restartAt);
      expect(Number(esc.opened_at) + ESC_S * 1000).toBeGreaterThan(killedAt);
      expect(escAt.rows.length).toBe(1);
      expect(Number(escAt.rows[0]!.at)).toBeGreaterThanOrEqual(restartAt);
      expect(esc.level).toBe(0);
    } finally {
      await db.end().catch(() => undefined);
    }
  }, 90_000);
});
