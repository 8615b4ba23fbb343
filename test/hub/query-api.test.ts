import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor, MAX_COUNT_BUCKETS } from '../../hub/api/app.js';
import { compareNewestFirst, type EventStore } from '../../hub/store/types.js';
import type { RbEvent } from '../../protocol/index.js';
import { makeEvent, startTestHub, type TestHub } from '../support/hub.js';

/** GET /api/v1/events paging (opaque cursor) and GET /api/v1/events/counts, over a real hub. */

const T0 = Date.UTC(2024, 4, 1, 0, 0, 0);
let t: TestHub;
let store: EventStore;
let all: RbEvent[];

beforeAll(async () => {
  t = await startTestHub();
  store = t.hub.store; // the events table of the hub's database
  // 250 events, 5 per ms (same ts), 20 s apart (all in the first hour), two types, two devices.
  all = Array.from({ length: 250 }, (_, i) =>
    makeEvent({ ts: T0 + Math.floor(i / 5) * 20_000, device: `gate-${i % 2}`, type: i % 3 === 0 ? 'door.forced' : 'door.opened', data: { door: 1 } }),
  );
  await store.write(all);
});
afterAll(async () => {
  await t.stop();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.httpUrl}${path}`, { headers: { authorization: `Bearer ${t.apiToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('GET /api/v1/events with a cursor', () => {
  it('pages through every event once, in order, with nextCursor absent on the last page', async () => {
    const got: RbEvent[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i += 1) {
      const { status, body } = await get(`/api/v1/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(status).toBe(200);
      const items = body.items as RbEvent[];
      sizes.push(items.length);
      got.push(...items);
      cursor = body.nextCursor as string | undefined;
      if (!cursor) break;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect(got).toEqual([...all].sort(compareNewestFirst));
  });

  it('has no nextCursor when a page is exactly the rest', async () => {
    const { body } = await get('/api/v1/events?limit=250');
    expect((body.items as unknown[]).length).toBe(250);
    expect(body).not.toHaveProperty('nextCursor');
  });

  it('keeps filters across pages', async () => {
    const want = all.filter((e) => e.device === 'gate-1' && e.type === 'door.forced' && e.ts >= T0 + 100_000).sort(compareNewestFirst);
    const got: RbEvent[] = [];
    let cursor: string | undefined;
    do {
      const { body } = await get(`/api/v1/events?device=gate-1&type=door.forced&from=${T0 + 100_000}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      got.push(...(body.items as RbEvent[]));
      cursor = body.nextCursor as string | undefined;
    } while (cursor);
    expect(got).toEqual(want);
  });

  it.each([
    ['garbage', 'not*base64'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['wrong shape', Buffer.from(JSON.stringify({ ts: 'x', seq: 1, id: '01HZZZZZZZZZZZZZZZZZZZZZZZ' })).toString('base64url')],
    ['extra keys', Buffer.from(JSON.stringify({ ts: 1, seq: 1, id: '01HZZZZZZZZZZZZZZZZZZZZZZZ', sql: 'x' })).toString('base64url')],
    ['bad id', Buffer.from(JSON.stringify({ ts: 1, seq: 1, id: "' OR 1=1" })).toString('base64url')],
    ['too long', 'A'.repeat(300)],
  ])('refuses a bad cursor (%s) with 400 RB_ERR_BAD_QUERY naming cursor', async (_name, cursor) => {
    const { status, body } = await get(`/api/v1/events?cursor=${encodeURIComponent(cursor)}`);
    expect(status).toBe(400);
    const error = body.error as { code: string; message: string };
    expect(error.code).toBe('RB_ERR_BAD_QUERY');
    expect(error.message).toMatch(/^cursor: /);
  });

  it('accepts a cursor it did not issue if well-formed (it is only a position)', async () => {
    const newest = [...all].sort(compareNewestFirst)[0] as RbEvent;
    const { status, body } = await get(`/api/v1/events?limit=3&cursor=${encodeCursor({ ts: newest.ts, seq: newest.seq, id: newest.id })}`);
    expect(status).toBe(200);
    expect(body.items).toEqual([...all].sort(compareNewestFirst).slice(1, 4));
  });
});

describe('GET /api/v1/events/counts', () => {
  function oracle(width: number, from: number, to: number, keep: (e: RbEvent) => boolean = () => true): Array<{ start: number; type: string; count: number }> {
    const m = new Map<string, { start: number; type: string; count: number }>();
    for (const e of all) {
      if (e.ts < from || e.ts >= to || !keep(e)) continue;
      const start = e.ts - (e.ts % width);
      const row = m.get(`${start}|${e.type}`) ?? { start, type: e.type, count: 0 };
      row.count += 1;
      m.set(`${start}|${e.type}`, row);
    }
    return [...m.values()].sort((a, b) => a.start - b.start || a.type.localeCompare(b.type));
  }

  it('counts per interval and type', async () => {
    const to = T0 + 86_400_000;
    for (const [interval, width] of [['1m', 60_000], ['5m', 300_000], ['1h', 3_600_000], ['1d', 86_400_000]] as const) {
      const { status, body } = await get(`/api/v1/events/counts?from=${T0}&to=${to}&interval=${interval}`);
      expect(status).toBe(200);
      expect(body.items).toEqual(oracle(width, T0, to));
    }
    const { body } = await get(`/api/v1/events/counts?from=${T0}&to=${to}&interval=1h`);
    expect(body.items).toEqual([
      { start: T0, type: 'door.forced', count: 84 },
      { start: T0, type: 'door.opened', count: 166 },
    ]);
  });

  it('narrows by estate, device and type, and takes ISO times', async () => {
    const from = new Date(T0 + 60_000).toISOString();
    const to = new Date(T0 + 3_600_000).toISOString();
    const { status, body } = await get(`/api/v1/events/counts?estate=estate-a&device=gate-0&type=door.opened&from=${from}&to=${to}&interval=5m`);
    expect(status).toBe(200);
    expect(body.items).toEqual(oracle(300_000, T0 + 60_000, T0 + 3_600_000, (e) => e.device === 'gate-0' && e.type === 'door.opened'));
    expect((await get(`/api/v1/events/counts?estate=estate-z&from=${T0}&to=${T0 + 1}&interval=1m`)).body).toEqual({ items: [] });
  });

  it.each([
    ['from missing', `to=${T0}&interval=1h`, /from: /],
    ['to missing', `from=${T0}&interval=1h`, /to: /],
    ['interval missing', `from=${T0}&to=${T0 + 1}`, /interval: /],
    ['interval not allowed', `from=${T0}&to=${T0 + 1}&interval=1s`, /interval: /],
    ['interval as InfluxQL', `from=${T0}&to=${T0 + 1}&interval=${encodeURIComponent('1h), "estate')}`, /interval: /],
    ['to before from', `from=${T0}&to=${T0 - 1}&interval=1h`, /to: must be after from/],
    ['span too long', `from=${T0}&to=${T0 + (MAX_COUNT_BUCKETS + 1) * 60_000}&interval=1m`, /to: .*more than 10000/],
    ['unknown key', `from=${T0}&to=${T0 + 1}&interval=1h&gateway=gw-1`, /gateway|Unrecognized/],
    ['bad estate', `from=${T0}&to=${T0 + 1}&interval=1h&estate=${encodeURIComponent("a' OR 1=1")}`, /estate: /],
  ])('refuses %s with 400 RB_ERR_BAD_QUERY', async (_name, qs, message) => {
    const { status, body } = await get(`/api/v1/events/counts?${qs}`);
    expect(status).toBe(400);
    const error = body.error as { code: string; message: string };
    expect(error.code).toBe('RB_ERR_BAD_QUERY');
    expect(error.message).toMatch(message);
  });

  it('allows exactly the bucket cap', async () => {
    const { status } = await get(`/api/v1/events/counts?from=${T0}&to=${T0 + MAX_COUNT_BUCKETS * 60_000}&interval=1m`);
    expect(status).toBe(200);
  });
});
