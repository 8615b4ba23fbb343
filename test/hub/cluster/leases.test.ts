import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { sql } from 'kysely';
import { createLeaseManager, FencedError, type LeaseManager } from '../../../hub/cluster/leases.js';
import { partitionOf, PARTITION_COUNT } from '../../../hub/cluster/partition.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { silentLogger } from '../../../lib/log.js';
import { usePostgres } from '../../support/postgres.js';
import { waitFor } from '../../support/hub.js';

/**
 * Partition leases on a real PostgreSQL 15 (issue 18 item 3): a fair split, a takeover after the TTL
 * with a higher epoch, the fence that refuses the old owner's writes (counted), and a hand-over at
 * stop that does not wait for the TTL.
 */
const server = usePostgres();
let n = 0;

describe('partition leases', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  const managers: LeaseManager[] = [];
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.stop().catch(() => undefined);
    for (const o of open.splice(0)) await o.close();
  });

  async function node(url: string, id: string, ttlMs: number, opts: { listen?: boolean; keepLocally?: boolean } = {}) {
    const db = await openDatabase({ url, log: silentLogger(), poolSize: 4 });
    open.push(db);
    const registry = new Registry();
    const events: string[] = [];
    const m = createLeaseManager({ db, nodeId: id, version: 'test', ttlMs, log: silentLogger(), registry, ...(opts.listen ? { url } : {}), ...(opts.keepLocally ? { giveUpLocally: false } : {}) });
    m.listen({
      acquired: async (parts) => void events.push(`+${parts.length}`),
      dropped: async (parts, why) => void events.push(`-${parts.length}:${why}`),
    });
    managers.push(m);
    return { db, m, registry, events };
  }
  const fencedCount = async (registry: Registry): Promise<number> => {
    const metric = await registry.getSingleMetric('rb_cluster_fenced_writes_total')!.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  };
  const tryWrite = (db: HubDatabase, m: LeaseManager, part: number) =>
    db.transaction(async (trx) => {
      await m.fence(trx, [part], 'test');
      await trx.insertInto('node_heartbeats').values({ node_id: `write-${part}`, beat_at: Date.now(), version: 'x' }).onConflict((oc) => oc.column('node_id').doUpdateSet({ beat_at: Date.now() })).execute();
    });

  it('hashes estates to a fixed partition', () => {
    expect(partitionOf('estate-a')).toBe(partitionOf('estate-a'));
    const seen = new Set(Array.from({ length: 2000 }, (_, i) => partitionOf(`estate-${i}`)));
    expect(seen.size).toBe(PARTITION_COUNT);
  });

  it('two nodes split the partitions 32/32; the second takes over the first one\'s after its TTL, with a higher epoch; the first is fenced', async () => {
    const url = await server().createDatabase(`leases_${++n}`);
    // A does not give its leases up locally when a renewal is late: only the database's fence stands between it and a write.
    const a = await node(url, 'node-a', 1500, { keepLocally: true });
    await a.m.start();
    expect(a.m.owned().size).toBe(PARTITION_COUNT); // alone: everything
    const b = await node(url, 'node-b', 1500, { listen: true });
    await b.m.start();
    // A sees B's heartbeat at its next round and hands the upper half over; B takes it on the NOTIFY.
    expect(await waitFor(() => a.m.owned().size === 32 && b.m.owned().size === 32, 10_000, 50), `a=${a.m.owned().size} b=${b.m.owned().size}`).toBe(true);
    expect([...a.m.owned().keys()].every((p) => !b.m.owns(p))).toBe(true);
    expect(a.events).toEqual(['+64', '-32:released']);

    // A stops renewing (as if paused): its leases lapse and B takes them with a new epoch.
    const aParts = [...a.m.owned().keys()];
    const epochBefore = a.m.owned().get(aParts[0]!)!;
    freeze(a.m);
    expect(await waitFor(() => b.m.owned().size === PARTITION_COUNT, 10_000, 50), `b=${b.m.owned().size}`).toBe(true);
    const row = await b.db.db.selectFrom('partition_leases').select(['owner', 'epoch']).where('part', '=', aParts[0]!).executeTakeFirstOrThrow();
    expect(row.owner).toBe('node-b');
    expect(Number(row.epoch)).toBeGreaterThan(epochBefore);

    // A still believes it owns aParts[0] (frozen): its write is refused, nothing commits, and it is counted.
    const fencedBefore = await fencedCount(a.registry);
    await expect(tryWrite(a.db, a.m, aParts[0]!)).rejects.toBeInstanceOf(FencedError);
    expect(await fencedCount(a.registry)).toBe(fencedBefore + 1);
    const written = await a.db.db.selectFrom('node_heartbeats').select('node_id').where('node_id', '=', `write-${aParts[0]}`).executeTakeFirst();
    expect(written).toBeUndefined();
    // B's own write of the same partition goes through.
    await tryWrite(b.db, b.m, aParts[0]!);
  }, 40_000);

  it('a fenced transaction may stay idle at most the TTL (a paused node cannot hold the lease rows), the pool\'s other transactions unbounded', async () => {
    const url = await server().createDatabase(`leases_${++n}`);
    const a = await node(url, 'node-a', 1500);
    await a.m.start();
    const show = async (trx: Parameters<Parameters<HubDatabase['transaction']>[0]>[0]): Promise<string> =>
      (await sql<{ v: string }>`SELECT current_setting('idle_in_transaction_session_timeout') AS v`.execute(trx)).rows[0]!.v;
    const inside = await a.db.transaction(async (trx) => {
      const before = await show(trx);
      await a.m.fence(trx, [0, 1, 2], 'test');
      return [before, await show(trx)];
    });
    expect(inside).toEqual(['0', '1500ms']);
    // SET LOCAL: gone with the transaction, on a pool of one connection as on any.
    for (let i = 0; i < 4; i++) expect(await a.db.transaction(show)).toBe('0');
    // Past the TTL idle inside a fenced transaction: the server ends it, the locks go with it.
    await expect(
      a.db.transaction(async (trx) => {
        await a.m.fence(trx, [3], 'test');
        await new Promise((r) => setTimeout(r, 2_500));
        await sql`SELECT 1`.execute(trx);
      }),
    ).rejects.toThrow();
  });

  it('keeps renewing the partitions it keeps while a hand-over takes longer than the TTL (its listeners finish the work)', async () => {
    const url = await server().createDatabase(`leases_${++n}`);
    const db = await openDatabase({ url, log: silentLogger(), poolSize: 4 });
    open.push(db);
    const events: string[] = [];
    const a = createLeaseManager({ db, nodeId: 'slow', version: 'test', ttlMs: 1500, log: silentLogger() });
    // Finishing 32 partitions' work under load before their leases are released: 2.5 TTLs.
    a.listen({
      acquired: async (parts) => void events.push(`+${parts.length}`),
      dropped: async (parts, why) => {
        if (why === 'released') await new Promise((r) => setTimeout(r, 3_750));
        events.push(`-${parts.length}:${why}`);
      },
    });
    managers.push(a);
    await a.start();
    expect(a.owned().size).toBe(PARTITION_COUNT);
    // A second node joins: A hands 32 over, slowly.
    const b = await node(url, 'other', 1500);
    await b.m.start();
    expect(await waitFor(() => events.includes('-32:released'), 20_000, 50)).toBe(true);
    // Before, the round doing the hand-over renewed nothing meanwhile: the 32 A keeps lapsed and were lost.
    expect(events.filter((e) => e.endsWith(':lost'))).toEqual([]);
    expect(a.owned().size).toBe(32);
    const live = await db.db.selectFrom('partition_leases').select((eb) => eb.fn.countAll<number>().as('n')).where('owner', '=', 'slow').where('expires_at', '>', Date.now()).executeTakeFirstOrThrow();
    expect(Number(live.n)).toBe(32);
  });

  it('a node that stops hands its partitions over at once, without waiting for the TTL', async () => {
    const url = await server().createDatabase(`leases_${++n}`);
    // A TTL far longer than the test: only the hand-over can move the partitions in time.
    const a = await node(url, 'node-a', 60_000, { listen: true });
    await a.m.start();
    const b = await node(url, 'node-b', 60_000, { listen: true });
    await b.m.start();
    await a.m.tick(); // A sees B and hands half over
    expect(await waitFor(() => b.m.owned().size === 32, 10_000, 50)).toBe(true);
    const started = Date.now();
    await a.m.stop();
    expect(await waitFor(() => b.m.owned().size === PARTITION_COUNT, 10_000, 50), `b=${b.m.owned().size}`).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(a.events).toEqual(['+64', '-32:released', '-32:released']);
  }, 40_000);
});

/** Freeze a manager's rounds, as in a paused process: its timer's next round never ends, so it renews nothing more. */
function freeze(m: LeaseManager): void {
  (m as { tick: () => Promise<void> }).tick = () => new Promise<void>(() => undefined);
}
