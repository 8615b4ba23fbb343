import { afterEach, describe, expect, it } from 'vitest';
import { createBus } from '../../../hub/bus.js';
import { createEventLog, createLogFeed, type LogFeed } from '../../../hub/eventlog/index.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import type { InfluxEventStore } from '../../../hub/store/influx.js';
import { createInfluxSink, INFLUX_CONSUMER } from '../../../hub/store/influx-sink.js';
import { silentLogger } from '../../../lib/log.js';
import type { RbEvent } from '../../../protocol/index.js';
import { makeEvent, sleep, waitFor } from '../../support/hub.js';

/** A store stand-in whose writes the test settles one by one (this module's unit test). */
function heldStore(): { store: InfluxEventStore; writes: Array<{ events: readonly RbEvent[]; ok(): void; fail(): void }> } {
  const writes: Array<{ events: readonly RbEvent[]; ok(): void; fail(): void }> = [];
  const store = {
    kind: 'influxdb',
    write: (events: readonly RbEvent[]) =>
      new Promise<void>((resolve, reject) => writes.push({ events, ok: resolve, fail: () => reject(new Error('spool full')) })),
    settled: () => Promise.resolve(),
  } as unknown as InfluxEventStore;
  return { store, writes };
}

describe('InfluxDB as a consumer of the event log (hub/store/influx-sink.ts)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function world(maxBacklog = 200_000): Promise<{ db: HubDatabase; feed: LogFeed; held: ReturnType<typeof heldStore>; sink: ReturnType<typeof createInfluxSink>; cursor(): Promise<number> }> {
    const db = await openDatabase({ file: ':memory:', log: silentLogger() });
    closers.push(() => db.close());
    const eventLog = createEventLog({ db });
    const feed = createLogFeed({ log: eventLog, db, bus: createBus(silentLogger()), logger: silentLogger() });
    const held = heldStore();
    const sink = createInfluxSink({ store: held.store, feed, db, log: silentLogger(), maxBacklog, retryMs: 20, flushTimeoutMs: 500 });
    await feed.start();
    closers.push(() => feed.stop());
    return { db, feed, held, sink, cursor: async () => (await eventLog.cursors()).get(INFLUX_CONSUMER) ?? -1 };
  }
  const batch = (n: number, seq0: number): RbEvent[] => Array.from({ length: n }, (_, i) => makeEvent({ estate: 'e1', gateway: 'gw-1', device: 'gate-1', seq: seq0 + i }));
  const append = (feed: LogFeed, events: RbEvent[]) => feed.append(events.map((e) => ({ key: e.id, kind: 'event' as const, estate: e.estate, body: e })));

  it('one write per committed batch; the cursor moves past a batch only once it is written, in log order', async () => {
    const { feed, held, cursor } = await world();
    const first = await append(feed, batch(3, 1));
    await new Promise((r) => setImmediate(r)); // delivered before the next commit: two groups
    const second = await append(feed, batch(2, 4));
    expect(await waitFor(() => held.writes.length === 2)).toBe(true);
    expect(held.writes.map((w) => w.events.length)).toEqual([3, 2]);
    const start = await cursor();
    expect(start).toBeLessThan(first[0]!.pos);

    held.writes[1]!.ok(); // the later batch is durable first: the cursor still waits for the earlier one
    await sleep(50);
    expect(await cursor()).toBe(start);
    held.writes[0]!.ok();
    expect(await waitFor(async () => (await cursor()) === second[1]!.pos)).toBe(true);
  });

  it('a write neither InfluxDB nor the spool took is tried again and holds the cursor; past maxBacklog ingest is told to refuse', async () => {
    const { feed, held, sink, cursor } = await world(1000);
    const first = await append(feed, batch(600, 1));
    expect(await waitFor(() => held.writes.length === 1)).toBe(true);
    expect(sink.refusing()).toBeUndefined();
    const start = await cursor();
    held.writes[0]!.fail();
    expect(await waitFor(() => held.writes.length === 2)).toBe(true); // the same events again
    expect(held.writes[1]!.events.map((e) => e.id)).toEqual(held.writes[0]!.events.map((e) => e.id));
    expect(await cursor()).toBe(start);
    await append(feed, batch(500, 601));
    expect(await waitFor(() => held.writes.length === 3)).toBe(true);
    expect(sink.refusing()).toMatch(/1100 events wait for InfluxDB.*influx\.maxBacklog 1000/);
    for (const w of held.writes.slice(1)) w.ok();
    expect(await waitFor(async () => (await cursor()) >= first[599]!.pos + 500)).toBe(true);
    expect(sink.refusing()).toBeUndefined();
    expect(sink.stats()).toMatchObject({ backlog: 0, writeFailures: 1 });
  });
});
