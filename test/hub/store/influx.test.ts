import { InfluxDB } from 'influx';
import { describe, expect, it } from 'vitest';
import { createInfluxStore } from '../../../hub/store/influx.js';
import { silentLogger } from '../../../lib/log.js';
import { useInfluxd } from '../../support/use-influxd.js';
import { describeStore, makeEvent, newestFirst, T0 } from './contract.js';

// One real influxd for this file. Nothing is skipped when it is missing: every test fails with
// "run scripts/ensure-deps.sh".
const server = useInfluxd();

let n = 0;
describeStore('influxdb', async () => {
  const database = `rb_contract_${++n}`;
  return {
    store: createInfluxStore({ url: `${server().url}/${database}`, log: silentLogger() }),
    cleanup: () => new InfluxDB(`${server().url}/${database}`).dropDatabase(database),
  };
});

/** Retry `fn` until it resolves (the way ingest gets a redelivery), for at most `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = Date.now();
  const [result] = await Promise.allSettled([p]);
  return { ms: Date.now() - started, result: result as PromiseSettledResult<T> };
}

describe('influx event store across influxd outages', () => {
  it('rejects writes clearly while influxd is stopped, and keeps earlier data after a restart', async () => {
    const store = createInfluxStore({ url: `${server().url}/rb_outage`, log: silentLogger() });
    await store.start();
    const before = [makeEvent('door.forced', { door: 1 }), makeEvent('door.closed', { door: 1 }, { ts: T0 + 1 })];
    await store.write(before);

    await server().stopProcess();
    // Three callers in one micro-batch: one failed HTTP write rejects each of them, fast.
    const started = Date.now();
    const down = await Promise.allSettled([1, 2, 3].map((door) => store.write([makeEvent('door.opened', { door })])));
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const result of down) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason.message).toMatch(
        /^InfluxDB write of 3 points to http:\/\/127\.0\.0\.1:\d+ db=rb_outage failed: .*ECONNREFUSED/,
      );
    }
    // While the client has its only host parked, the error still names the real cause.
    await expect(store.write([makeEvent('door.opened', { door: 3 })])).rejects.toThrow(/ECONNREFUSED/);

    await server().startProcess();
    const after = makeEvent('door.held', { door: 1, heldS: 30 }, { ts: T0 + 2 });
    await eventually(() => store.write([after]), 5_000);
    expect(await store.query({ limit: 100 })).toEqual([...before, after].sort(newestFirst));
    await store.stop();
  });

  it('keeps acknowledged writes through kill -9', async () => {
    const store = createInfluxStore({ url: `${server().url}/rb_crash`, log: silentLogger() });
    await store.start();
    const events = Array.from({ length: 200 }, (_, i) => makeEvent('door.opened', { door: 1 }, { ts: T0 + i }));
    await store.write(events);
    await server().kill9();
    await server().startProcess();
    expect(await eventually(() => store.query({ limit: 1000 }), 5_000)).toEqual([...events].sort(newestFirst));
    await store.stop();
  });

  it('rejects a write within the request timeout when influxd hangs', async () => {
    const store = createInfluxStore({ url: `${server().url}/rb_hang`, log: silentLogger(), requestTimeoutMs: 1_000 });
    await store.start();
    server().pause();
    try {
      const hung = await timed(store.write([makeEvent('door.opened', { door: 1 })]));
      expect(hung.result.status).toBe('rejected');
      expect((hung.result as PromiseRejectedResult).reason.message).toMatch(/db=rb_hang failed: Request timed out/);
      expect(hung.ms).toBeLessThan(3_000);
    } finally {
      server().resume();
    }
    const later = makeEvent('door.closed', { door: 1 });
    await eventually(() => store.write([later]), 5_000);
    expect(await store.query({ limit: 10 })).toContainEqual(later);
    await store.stop();
  });
});
