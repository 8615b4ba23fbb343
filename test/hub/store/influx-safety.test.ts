import { describe, expect, it } from 'vitest';
import type { RbEvent } from '../../../protocol/index.js';
import { hourlyCq } from '../../../hub/store/influx-schema.js';
import { useInfluxd } from '../../support/use-influxd.js';
import { makeEvent, newestFirst, T0 } from './contract.js';
import { influxStore, rawQuery, rawWrite, useTempDir } from './influx-support.js';

const server = useInfluxd();
const dir = useTempDir('rb-influx-safety-');

/** Every series and point in the database, whatever its measurement. */
async function census(db: string): Promise<{ series: string[]; points: number }> {
  const series = (await rawQuery(server().url, db, 'SHOW SERIES')).flatMap((s) => s.values.map((v) => String(v[0])));
  const counts = await rawQuery(server().url, db, 'SELECT count(*) FROM /.*/');
  const points = counts.reduce((sum, s) => sum + Math.max(...(s.values[0]!.slice(1) as number[])), 0);
  return { series, points };
}

describe('influx store: nothing in a value becomes line protocol or InfluxQL', () => {
  it('writes a data string with newline, quotes, backslash, comma, =, spaces and a forged tail as one point', async () => {
    const store = influxStore(server().url, 'rb_inject', dir(), { retention: { raw: 'INF' } });
    await store.start();
    const evil = 'x\nevents,estate=evil value=1 1\n"a\\b", c=d e\\';
    const event = makeEvent('door.forced', { door: 1, source: { vendor: evil } });
    await store.write([event]);
    expect(await store.query({ limit: 10 })).toEqual([event]);
    expect(await census('rb_inject')).toEqual({ series: ['events,device=gate-1,estate=estate-a,gateway=gw-1,type=door.forced'], points: 1 });
    expect(store.stats()).toMatchObject({ written: 1, deadLettered: 0 });
    await store.stop();
  });

  it('refuses a tag value with a newline (dead-lettered, never sent) and escapes , = and space', async () => {
    const store = influxStore(server().url, 'rb_tags', dir(), { retention: { raw: 'INF' } });
    await store.start();
    // The protocol never lets such ids through; the store does not rely on that.
    const forged = makeEvent('door.opened', { door: 1 }, { device: 'gate-1\nevents,estate=evil value=1 1' });
    const spaced = makeEvent('door.opened', { door: 2 }, { device: 'gate 1,estate=evil' });
    const good = makeEvent('door.opened', { door: 3 }, { ts: T0 + 1 });
    await store.write([forged, spaced, good]);
    expect(await store.query({ limit: 10 })).toEqual([good, spaced].sort(newestFirst));
    expect(await store.query({ device: 'gate 1,estate=evil', limit: 10 })).toEqual([spaced]);
    expect(await store.query({ estate: 'evil', limit: 10 })).toEqual([]);
    const { series, points } = await census('rb_tags');
    expect(points).toBe(2);
    expect(series).toHaveLength(2);
    expect(store.stats()).toMatchObject({ deadLettered: 1, deadLetterTotal: 1 });
    expect(store.deadLetters()).toEqual([expect.objectContaining({ id: forged.id, reason: expect.stringMatching(/^unsafe tag device=/) })]);
    await store.stop();
  });

  it("binds query filters: \\' and ' OR 1=1 -- match nothing, and no extra rows", async () => {
    const store = influxStore(server().url, 'rb_filter', dir(), { retention: { raw: 'INF' } });
    await store.start();
    const all = [makeEvent('door.opened', { door: 1 }), makeEvent('door.opened', { door: 2 }, { estate: 'estate-b', ts: T0 + 1 })];
    await store.write(all);
    for (const value of ["\\'", "' OR 1=1 --", "estate-a' OR estate =~ /.*/ --", '\\"', 'estate-a\\']) {
      for (const key of ['estate', 'gateway', 'device', 'type'] as const) {
        expect(await store.query({ [key]: value, limit: 100 }), `${key}=${value}`).toEqual([]);
      }
    }
    expect(await store.query({ estate: 'estate-a', limit: 100 })).toEqual([all[0]]);
    await store.stop();
  });
});

describe('influx store: poison points are dead-lettered, the rest written', () => {
  it('dead-letters points InfluxDB refuses (field type conflict, beyond retention, bad number) and writes the others', async () => {
    const db = 'rb_poison';
    // Production retention (raw 30 days): an event 40 days old is refused by InfluxDB.
    const store = influxStore(server().url, db, dir());
    await store.start();
    const now = Date.now();
    const day = 86_400_000;
    // seq as a string in the shard of two days ago: every integer seq into that shard is a type conflict.
    const twoDaysAgo = now - 2 * day; // never the shard of the good points
    expect(await rawWrite(server().url, db, `events,estate=estate-a,gateway=gw-1,device=gate-9,type=door.opened seq="oops" ${BigInt(twoDaysAgo) * 1_000_000n}`)).toBe(204);
    const good = Array.from({ length: 20 }, (_, i) => makeEvent('door.opened', { door: 1 }, { ts: now - i * 1000 }));
    const conflict = makeEvent('door.opened', { door: 2 }, { ts: twoDaysAgo + 5 });
    const old = makeEvent('door.opened', { door: 3 }, { ts: now - 40 * day });
    const nan = { ...makeEvent('door.opened', { door: 4 }), seq: Number.NaN } as RbEvent;
    const batch = [...good.slice(0, 7), conflict, ...good.slice(7, 15), old, nan, ...good.slice(15)];
    await store.write(batch);

    expect(await store.query({ device: 'gate-1', limit: 100 })).toEqual([...good].sort(newestFirst));
    const dead = store.deadLetters();
    const byId = new Map(dead.map((d) => [d.id, d.reason]));
    expect(byId.get(conflict.id)).toMatch(/HTTP 400: .*field type conflict/);
    expect(byId.get(old.id)).toMatch(/HTTP 400: .*points beyond retention policy/);
    expect(byId.get(nan.id)).toMatch(/invalid field seq=NaN/);
    expect(dead).toHaveLength(3);
    const stats = store.stats();
    expect(stats).toMatchObject({ deadLettered: 3, written: 20, spoolDepth: 0, mode: 'direct' });
    expect(stats.bisections).toBeGreaterThan(0);
    // Not retried: the next write goes straight through, nothing is left to replay.
    const later = makeEvent('door.closed', { door: 1 }, { ts: now });
    await store.write([later]);
    expect(store.stats()).toMatchObject({ deadLettered: 3, spoolDepth: 0 });
    await store.stop();
  });
});

describe('influx store: retention policies and the hourly continuous query', () => {
  it('creates RP raw (default), RP hourly and the CQ idempotently, and alters a changed retention', async () => {
    const db = 'rb_schema';
    for (let i = 0; i < 2; i++) {
      const store = influxStore(server().url, db, dir());
      await store.start();
      await store.stop();
    }
    const rps = (await rawQuery(server().url, db, `SHOW RETENTION POLICIES ON ${db}`))[0]!.values;
    expect(rps).toContainEqual(['raw', '720h0m0s', '24h0m0s', 1, true]);
    expect(rps).toContainEqual(['hourly', '17472h0m0s', '168h0m0s', 1, false]);
    const cqs = (await rawQuery(server().url, db, 'SHOW CONTINUOUS QUERIES')).find((s) => s.name === db)!.values;
    expect(cqs).toEqual([
      [
        'cq_events_hourly',
        `CREATE CONTINUOUS QUERY cq_events_hourly ON ${db} RESAMPLE EVERY 1h FOR 1d BEGIN SELECT count(id) AS events INTO ${db}.hourly.events_hourly FROM ${db}.raw.events GROUP BY time(1h), estate, gateway, device, type END`,
      ],
    ]);
    expect(hourlyCq(db)).toContain('RESAMPLE EVERY 1h FOR 1d');

    const changed = influxStore(server().url, db, dir(), { retention: { raw: '7d' } });
    await changed.start();
    await changed.stop();
    const altered = (await rawQuery(server().url, db, `SHOW RETENTION POLICIES ON ${db}`))[0]!.values;
    expect(altered).toContainEqual(['raw', '168h0m0s', '24h0m0s', 1, true]);
  });

  it("the CQ's SELECT counts events per hour by estate, gateway, device and type into hourly.events_hourly", async () => {
    const db = 'rb_rollup';
    const store = influxStore(server().url, db, dir());
    await store.start();
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const events = [
      ...Array.from({ length: 5 }, (_, i) => makeEvent('door.opened', { door: 1 }, { ts: hour + i })),
      ...Array.from({ length: 3 }, (_, i) => makeEvent('door.opened', { door: 1 }, { ts: hour + 3_600_000 + i })),
      ...Array.from({ length: 2 }, (_, i) => makeEvent('door.forced', { door: 1 }, { ts: hour + i, device: 'gate-2' })),
    ];
    await store.write(events);
    await store.rollup(hour, hour + 2 * 3_600_000);
    const rows = await rawQuery(server().url, db, 'SELECT "events", "device", "type" FROM "hourly"."events_hourly"');
    const got = rows[0]!.values.map(([time, n, device, type]) => [Date.parse(String(time)) - hour, n, device, type]);
    expect(got.sort()).toEqual(
      [
        [0, 5, 'gate-1', 'door.opened'],
        [0, 2, 'gate-2', 'door.forced'],
        [3_600_000, 3, 'gate-1', 'door.opened'],
      ].sort(),
    );
    await store.stop();
  });
});
