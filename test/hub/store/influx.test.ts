import { describe, expect, it } from 'vitest';
import { InfluxUnavailableError } from '../../../hub/store/influx.js';
import { useInfluxd } from '../../support/use-influxd.js';
import { describeStore, makeEvent, newestFirst, T0 } from './contract.js';
import { dropDatabase, influxStore, useTempDir } from './influx-support.js';

// One real influxd for this file. Nothing is skipped when it is missing: every test fails with
// "run scripts/ensure-deps.sh".
const server = useInfluxd();
const dir = useTempDir('rb-influx-store-');

let n = 0;
// The suite writes events of 2024 (and TS_MIN, year 2000): with the production raw retention of
// 30 days InfluxDB would refuse them (they are dead-lettered; see influx-safety.test.ts), so the
// contract runs with raw retention INF. Everything else is the production configuration.
describeStore('influxdb', async () => {
  const database = `rb_contract_${++n}`;
  return {
    store: influxStore(server().url, database, dir(), { retention: { raw: 'INF' } }),
    cleanup: () => dropDatabase(server().url, database),
  };
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('influx event store across influxd outages', () => {
  it('spools writes while influxd is stopped, rejects reads clearly, and replays the spool when it returns', async () => {
    const store = influxStore(server().url, 'rb_outage', dir(), { retention: { raw: 'INF' }, backoffMaxMs: 500 });
    await store.start();
    const before = [makeEvent('door.forced', { door: 1 }), makeEvent('door.closed', { door: 1 }, { ts: T0 + 1 })];
    await store.write(before);
    expect(store.stats()).toMatchObject({ mode: 'direct', written: 2, spooled: 0 });

    await server().stopProcess();
    // Durable means spooled now: every write resolves, fast.
    const started = Date.now();
    const down = Array.from({ length: 300 }, (_, i) => makeEvent('door.opened', { door: 1 + (i % 4) }, { ts: T0 + 10 + i }));
    await Promise.all([0, 100, 200].map((i) => store.write(down.slice(i, i + 100))));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(store.stats()).toMatchObject({ mode: 'spool', spoolDepth: 300, spooled: 300, replayed: 0 });
    expect(store.stats().lastError).toMatch(/ECONNREFUSED/);
    const read = store.query({ limit: 10 });
    await expect(read).rejects.toBeInstanceOf(InfluxUnavailableError);
    await expect(read).rejects.toThrow(/InfluxDB at http:\/\/127\.0\.0\.1:\d+ db=rb_outage is unavailable: ECONNREFUSED; 300 events are spooled/);
    await sleep(1_000); // the replayer keeps probing, backing off
    expect(store.stats().retries).toBeGreaterThan(1);

    await server().startProcess();
    const after = makeEvent('door.held', { door: 1, heldS: 30 }, { ts: T0 + 5_000 });
    // Spooled behind the backlog if the replayer has not drained it yet (one path, in order), else
    // written directly: either way every point is written exactly once.
    await store.write([after]);
    expect(await store.drained(15_000)).toBe(true);
    const s = store.stats();
    expect(s).toMatchObject({ mode: 'direct', spoolDepth: 0, deadLettered: 0 });
    expect(s.spooled).toBeGreaterThanOrEqual(300);
    expect(s.replayed).toBe(s.spooled);
    expect(s.spooled + s.written).toBe(before.length + down.length + 1);
    expect(await store.query({ limit: 1000 })).toEqual([...before, ...down, after].sort(newestFirst));
    await store.stop();
  });

  it('replays what a stopped store left in its spool at the next start', async () => {
    const opts = { retention: { raw: 'INF' }, spoolFile: `${dir()}/restart.db` } as const;
    const first = influxStore(server().url, 'rb_restart', dir(), opts);
    await first.start();
    await server().stopProcess();
    const events = Array.from({ length: 50 }, (_, i) => makeEvent('door.opened', { door: 1 }, { ts: T0 + i }));
    await first.write(events);
    await first.stop();
    await server().startProcess();
    const second = influxStore(server().url, 'rb_restart', dir(), opts);
    await second.start();
    expect(await second.drained(10_000)).toBe(true);
    expect(second.stats()).toMatchObject({ replayed: 50, spoolDepth: 0 });
    expect(await second.query({ limit: 100 })).toEqual([...events].sort(newestFirst));
    await second.stop();
  });

  it('keeps acknowledged writes through kill -9', async () => {
    const store = influxStore(server().url, 'rb_crash', dir(), { retention: { raw: 'INF' } });
    await store.start();
    const events = Array.from({ length: 200 }, (_, i) => makeEvent('door.opened', { door: 1 }, { ts: T0 + i }));
    await store.write(events);
    await server().kill9();
    await server().startProcess();
    expect(await store.query({ limit: 1000 })).toEqual([...events].sort(newestFirst));
    await store.stop();
  });

  it('spools a write that influxd does not answer within spoolAfterMs, and writes it once it answers', async () => {
    const store = influxStore(server().url, 'rb_hang', dir(), { retention: { raw: 'INF' }, spoolAfterMs: 500, requestTimeoutMs: 1_000, backoffMaxMs: 300 });
    await store.start();
    server().pause();
    const event = makeEvent('door.opened', { door: 1 });
    try {
      const started = Date.now();
      await store.write([event]);
      const ms = Date.now() - started;
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(1_500);
      expect(store.stats()).toMatchObject({ mode: 'spool', spoolDepth: 1 });
      expect(store.stats().lastError).toMatch(/no answer within 500 ms/);
    } finally {
      server().resume();
    }
    expect(await store.drained(10_000)).toBe(true);
    expect(await store.query({ limit: 10 })).toEqual([event]);
    await store.stop();
  });
});
