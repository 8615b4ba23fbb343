import { afterEach, describe, expect, it } from 'vitest';
import { createBus } from '../../../hub/bus.js';
import { partitionOf } from '../../../hub/cluster/partition.js';
import { createEventLog, createLogFeed } from '../../../hub/eventlog/index.js';
import { createPatrol, type Patrol } from '../../../hub/patrol/service.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { silentLogger } from '../../../lib/log.js';
import { zonedInstant } from '../../../lib/zoned.js';
import type { RbEvent } from '../../../protocol/index.js';

/**
 * In a cluster only the owner of an estate's partition runs its patrol schedule and deadlines; and
 * should two nodes both raise the same missed checkpoint (a hand-over in between), the event log keeps
 * one event: its id comes from the run and the checkpoint. Two patrol services on one database and
 * one event log, each with its own view of ownership, and a fake clock.
 */
const ESTATE = 'estate-a';
const at = (hh: number, mm: number): number => zonedInstant(2026, 12, 7, hh * 60 + mm, 'Asia/Shanghai');

describe('patrol across nodes', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('only the owner raises a missed checkpoint; a second raise of the same point appends nothing', async () => {
    const db: HubDatabase = await openDatabase({ file: ':memory:', log: silentLogger() });
    closers.push(() => db.close());
    const eventLog = createEventLog({ db });
    const feed = createLogFeed({ log: eventLog, db, bus: createBus(silentLogger()), logger: silentLogger() });
    let now = at(7, 55);
    const node = (owns: boolean): Patrol =>
      createPatrol({
        db, feed, events: {} /* InfluxDB's shape: it takes events from the log */, ownership: { owns: (p) => owns && p === partitionOf(ESTATE) },
        options: { timeZone: 'Asia/Shanghai', lateGraceMinutes: 60, aheadHours: 24, checkEveryMs: 60_000 }, log: silentLogger(), now: () => now,
      });
    const other = node(false);
    const owner = node(true);
    const cp = await owner.store.addCheckpoint({ estate: ESTATE, name: '配电房', location: '' }, now);
    await owner.store.addRound({ estate: ESTATE, name: '早班', starts: ['08:00'], windowMinutes: 30, enabled: true, points: [{ checkpoint: cp.id, dueMinutes: 25 }] }, now);
    const missed = async () => (await eventLog.read(0, 100)).filter((e) => (e.body as RbEvent).type === 'patrol.missed');

    now = at(8, 30);
    await other.tick();
    expect(await owner.store.runs(undefined, at(0, 0), at(23, 59), now)).toEqual([]); // not its estate: no run made
    expect(await missed()).toEqual([]);
    await owner.tick();
    const first = await missed();
    expect(first.map((e) => [e.estate, (e.body as RbEvent).device, (e.body as RbEvent).gateway])).toEqual([[ESTATE, cp.id, 'hub']]);

    // The stamp lost (the partition moved before it was seen): the new owner raises it again.
    await db.db.updateTable('patrol_scans').set({ missed_at: null }).execute();
    await node(true).tick();
    expect((await missed()).map((e) => e.key)).toEqual([first[0]!.key]);
    expect(await eventLog.count()).toBe(1);
  });
});
