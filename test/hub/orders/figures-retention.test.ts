import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubDatabase } from '../../../hub/platform/db/index.js';
import { startOrderRetention } from '../../../hub/orders/retention.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { DAY, seedOrders, type SeedOrder } from './figures-seed.js';

/**
 * orders.retention (issue 19 build 8) with an injected clock, on the hub's database (SQLite, and
 * PostgreSQL in the PostgreSQL pass): closed orders past it go with their steps and photos, photos
 * past it go from orders no longer open, open orders stay whole; bounded batches; counted.
 */
let th: TestHub;
let db: HubDatabase;
/** Far after the real clock, so the hub's own hourly run never reaches these rows. */
const BASE = Date.UTC(2031, 0, 1);
const KEEP = 730 * DAY;
const E = 'maple-court';

const closed = (id: string, closedAgo: number, photos = 1): SeedOrder => ({
  id,
  estate: E,
  category: 'repair',
  source: 'resident',
  state: 'closed',
  createdAt: BASE - closedAgo - 2 * DAY,
  resolvedAt: BASE - closedAgo - DAY,
  closedAt: BASE - closedAgo,
  rating: 'satisfied',
  photos: Array.from({ length: photos }, () => BASE - closedAgo - 2 * DAY),
});
const ORDERS: SeedOrder[] = [
  { ...closed('old-1', 731 * DAY, 2), whistles: [{ at: BASE - 733 * DAY, checkInBy: BASE - 733 * DAY + DAY / 12, checkedInAt: BASE - 733 * DAY + DAY / 24 }] },
  closed('old-2', 800 * DAY),
  closed('old-3', 801 * DAY),
  closed('old-4', 802 * DAY, 0),
  closed('old-5', 803 * DAY),
  closed('recent', 729 * DAY),
  // Open for years, photos as old: kept whole.
  { id: 'open-old', estate: E, category: 'hazard', source: 'hotline', state: 'in_progress', createdAt: BASE - 1000 * DAY, photos: [BASE - 1000 * DAY], whistles: [{ at: BASE - 999 * DAY, checkInBy: BASE - 998 * DAY }] },
  { id: 'reopened-old', estate: E, category: 'noise', source: 'resident', state: 'reopened', createdAt: BASE - 900 * DAY, photos: [BASE - 900 * DAY] },
  // Resolved long ago and never closed: the order stays (it was not confirmed), its old photo goes, a recent one stays.
  { id: 'resolved-old', estate: E, category: 'other', source: 'staff', state: 'resolved', createdAt: BASE - 900 * DAY, resolvedAt: BASE - 899 * DAY, photos: [BASE - 900 * DAY, BASE - 10 * DAY] },
];

beforeAll(async () => {
  th = await startTestHub();
  db = await th.openDatabase();
  await seedOrders(db, ORDERS);
}, 60_000);

afterAll(async () => {
  await db?.close();
  await th?.stop();
});

const ids = async (table: 'work_orders' | 'work_order_photos', column: 'id' | 'order_id' = 'id'): Promise<string[]> =>
  (await db.db.selectFrom(table).select(column).execute()).map((r) => (r as Record<string, string>)[column]!).sort();
const stepsOf = async (orderId: string): Promise<number> => (await db.db.selectFrom('work_order_steps').select('id').where('order_id', '=', orderId).execute()).length;
async function counted(registry: Registry, what: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'rb_orders_retention_deleted_total')!;
  return (m.values as Array<{ labels: { what?: string }; value: number }>).find((v) => v.labels.what === what)?.value ?? 0;
}

describe('orders.retention', () => {
  it('deletes exactly the closed orders past it with their steps and photos, and old photos of orders no longer open; keeps open ones', async () => {
    let now = BASE;
    const registry = new Registry();
    const r = startOrderRetention({ db: db.db, retentionMs: KEEP, registry, logger: pino({ level: 'silent' }), now: () => now, batch: 2, everyMs: 3_600_000 });
    try {
      // The run at start (batches of 2: three of them for five orders): their 5 photos, and the old
      // photos of the orders no longer open (resolved-old, and recent: closed, not yet due itself).
      expect(await r.run()).toEqual({ orders: 5, photos: 5 + 2 });
      expect(await ids('work_orders')).toEqual(['open-old', 'recent', 'reopened-old', 'resolved-old']);
      expect(await ids('work_order_photos')).toEqual(['open-old-p0', 'reopened-old-p0', 'resolved-old-p1']);
      for (const gone of ['old-1', 'old-2', 'old-3', 'old-4', 'old-5']) expect(await stepsOf(gone), gone).toBe(0);
      // Whistles have no foreign key: deleted with their order, kept with an open one.
      expect((await db.db.selectFrom('order_whistles').select('order_id').execute()).map((w) => w.order_id)).toEqual(['open-old']);
      expect(await stepsOf('recent')).toBeGreaterThan(0);
      expect(await counted(registry, 'orders')).toBe(5);
      expect(await counted(registry, 'photos')).toBe(7);
      // Nothing more at the same time; two days later the recent one is past it too.
      expect(await r.run()).toEqual({ orders: 0, photos: 0 });
      now = BASE + 2 * DAY;
      expect(await r.run()).toEqual({ orders: 1, photos: 0 });
      expect(await ids('work_orders')).toEqual(['open-old', 'reopened-old', 'resolved-old']);
      expect(await counted(registry, 'orders')).toBe(6);
    } finally {
      await r.stop();
    }
  });

  it('bounded: a run does at most maxBatches batches, the next goes on', async () => {
    await seedOrders(db, [closed('more-1', 900 * DAY), closed('more-2', 901 * DAY), closed('more-3', 902 * DAY)]);
    const registry = new Registry();
    const r = startOrderRetention({ db: db.db, retentionMs: KEEP, registry, logger: pino({ level: 'silent' }), now: () => BASE, batch: 1, maxBatches: 2 });
    try {
      expect((await r.run()).orders).toBe(2);
      expect((await r.run()).orders).toBe(1);
      expect((await r.run()).orders).toBe(0);
      expect(await ids('work_orders')).toEqual(['open-old', 'reopened-old', 'resolved-old']);
    } finally {
      await r.stop();
    }
  });

  it('the hub runs it and counts it on /metrics', async () => {
    expect(await th.metric('rb_orders_retention_deleted_total', { what: 'orders' })).toBe(0);
  });
});
