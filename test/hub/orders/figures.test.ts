import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderFigures } from '../../../protocol/work-orders.js';
import { monthStart } from '../../../hub/orders/figures.js';
import { latestCheckIn } from '../../../hub/orders/figures-whistles.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { at, HOUR, seedOrders, TZ, type SeedOrder } from './figures-seed.js';

/**
 * GET /api/v1/work-orders/figures on a real hub (SQLite, and PostgreSQL in the PostgreSQL pass) over
 * orders written into its tables with known times: counts, medians, percentages and the 12345 trend
 * are known in advance; scope and role are checked.
 */
let th: TestHub;

const A = 'maple-court';
const B = 'pine-garden';
const C = 'willow-lane';
const ORDERS: SeedOrder[] = [
  // A: resolved in 1 h, 3 h (ran out of time once), 8 h; rated 满意, 基本满意, 不满意 (and 满意 for a9); 12345: Oct 2, Nov 1, Dec 1.
  { id: 'a1', estate: A, category: 'repair', source: 'resident', state: 'closed', createdAt: at(12, 5), resolvedAt: at(12, 5) + HOUR, closedAt: at(12, 6), rating: 'satisfied' },
  { id: 'a2', estate: A, category: 'repair', source: 'phone', state: 'closed', createdAt: at(12, 6), resolvedAt: at(12, 6) + 3 * HOUR, closedAt: at(12, 7), rating: 'basically', escalatedBy: ['system'],
    whistles: [{ at: at(12, 6, 10, 30), checkInBy: at(12, 6, 12, 30), checkedInAt: at(12, 6, 11) }] },
  { id: 'a3', estate: A, category: 'noise', source: 'resident', state: 'resolved', createdAt: at(12, 7), resolvedAt: at(12, 7) + 8 * HOUR, rating: 'unsatisfied',
    // Checked in 3 h after the whistle, 1 h late.
    whistles: [{ at: at(12, 7, 11), checkInBy: at(12, 7, 13), checkedInAt: at(12, 7, 14) }] },
  { id: 'a4', estate: A, category: 'hazard', source: 'hotline', state: 'new', createdAt: at(12, 8) },
  { id: 'a5', estate: A, category: 'hazard', source: 'hotline', state: 'assigned', createdAt: at(11, 10) },
  { id: 'a6', estate: A, category: 'other', source: 'hotline', state: 'in_progress', createdAt: at(10, 3) },
  { id: 'a7', estate: A, category: 'other', source: 'hotline', state: 'in_progress', createdAt: at(10, 20) },
  // A: resolved before the range, rated in it: its rating counts, nothing else.
  { id: 'a9', estate: A, category: 'repair', source: 'staff', state: 'closed', createdAt: at(9, 29), resolvedAt: at(9, 30), closedAt: at(10, 2), rating: 'satisfied', ratedAt: at(10, 2) },
  // A: resolved after `to`: counted nowhere (created before `from` too).
  { id: 'a8', estate: A, category: 'repair', source: 'staff', state: 'resolved', createdAt: at(9, 1), resolvedAt: at(12, 16) },
  // B: resolved in 2 h (escalated by a person: still in time), 6 h (ran out of time), and one created in
  // September resolved on Dec 2 (73 days: resolved in the range, not created in it); 12345: Dec 3.
  // B's whistles: one whose check-in time is still to come, one the hub saw missed.
  { id: 'b1', estate: B, category: 'sanitation', source: 'staff', state: 'resolved', createdAt: at(12, 9), resolvedAt: at(12, 9) + 2 * HOUR, escalatedBy: ['user:u1'],
    whistles: [{ at: at(12, 9, 11), checkInBy: Date.UTC(2099, 0, 1) }] },
  { id: 'b2', estate: B, category: 'help', source: 'alert', state: 'resolved', createdAt: at(12, 10), resolvedAt: at(12, 10) + 6 * HOUR, escalatedBy: ['system', 'system'],
    whistles: [{ at: at(12, 10, 11), checkInBy: at(12, 10, 13), missedAt: at(12, 10, 13, 1) }] },
  { id: 'b3', estate: B, category: 'repair', source: 'hotline', state: 'new', createdAt: at(12, 11) },
  { id: 'b4', estate: B, category: 'repair', source: 'hotline', state: 'new', createdAt: at(12, 12) },
  { id: 'b5', estate: B, category: 'repair', source: 'hotline', state: 'new', createdAt: at(12, 13) },
  { id: 'b6', estate: B, category: 'other', source: 'resident', state: 'resolved', createdAt: at(9, 20), resolvedAt: at(12, 2) },
  // C, on the other street.
  { id: 'c1', estate: C, category: 'other', source: 'resident', state: 'closed', createdAt: at(12, 1), resolvedAt: at(12, 1) + HOUR / 2, closedAt: at(12, 2), rating: 'satisfied' },
];
const FROM = at(10, 1, 0);
const TO = at(12, 15, 12);
const range = `from=${FROM}&to=${TO}`;

beforeAll(async () => {
  th = await startTestHub();
  await th.hub.registry.addStreet('east-street', '东街道');
  await th.hub.registry.addStreet('west-street', '西街道');
  await th.hub.registry.addEstate(A, { street: 'east-street', name: '枫林苑' });
  await th.hub.registry.addEstate(B, { street: 'east-street', name: '松园' });
  await th.hub.registry.addEstate(C, { street: 'west-street', name: '柳巷' });
  const db = await th.openDatabase();
  try {
    await seedOrders(db, ORDERS);
  } finally {
    await db.close();
  }
}, 60_000);

afterAll(async () => {
  await th?.stop();
});

const get = async (query: string, token?: string): Promise<{ status: number; json: OrderFigures & { error?: { code: string } } }> =>
  (await th.api('GET', `/api/v1/work-orders/figures?${query}`, token ? { token } : {})) as never;

describe('work-order figures (GET /api/v1/work-orders/figures)', () => {
  it('per estate: orders by category and source, median time to resolve, deadlines met, satisfaction, 12345 per month', async () => {
    const r = await get(`street=east-street&${range}`);
    expect(r.status).toBe(200);
    expect(r.json.street).toEqual({ id: 'east-street', name: '东街道' });
    expect(r.json.timeZone).toBe(TZ);
    expect(r.json.estates.map((e) => [e.estate, e.name])).toEqual([
      [A, '枫林苑'],
      [B, '松园'],
    ]);
    const a = r.json.estates.find((e) => e.estate === A)!;
    expect(a.orders).toBe(7);
    expect(a.byCategory).toEqual({ repair: 2, hazard: 2, sanitation: 0, noise: 1, help: 0, other: 2 });
    expect(a.bySource).toEqual({ resident: 2, alert: 0, phone: 1, hotline: 4, staff: 0 });
    expect(a.resolved).toBe(3);
    expect(a.medianResolveMs).toBe(3 * HOUR);
    expect([a.deadlinesMet, a.deadlinesMetPct]).toEqual([2, 66.7]);
    expect(a.ratings).toEqual({ satisfied: 2, basically: 1, unsatisfied: 1 });
    expect([a.rated, a.satisfiedPct]).toEqual([4, 75]);
    expect(a.hotline).toEqual({
      months: [
        { month: '2026-10', orders: 2 },
        { month: '2026-11', orders: 1 },
        { month: '2026-12', orders: 1 },
      ],
      thisMonth: 1,
      previousMonth: 1,
      changePct: 0,
      trend: 'flat',
    });
    const b = r.json.estates.find((e) => e.estate === B)!;
    expect(b.orders).toBe(5);
    expect(b.byCategory).toEqual({ repair: 3, hazard: 0, sanitation: 1, noise: 0, help: 1, other: 0 });
    expect(b.bySource).toEqual({ resident: 0, alert: 1, phone: 0, hotline: 3, staff: 1 });
    // 2 h, 6 h and 73 days: the order created before the range counts where it was resolved.
    expect([b.resolved, b.medianResolveMs]).toEqual([3, 6 * HOUR]);
    // b1 was escalated by a person, not by its deadline: met; b2 ran out of time twice: one order
    // missed; b6 was never escalated but resolved 73 days after entering the grid (a day): missed.
    expect([b.deadlinesMet, b.deadlinesMetPct]).toEqual([1, 33.3]);
    expect([b.rated, b.satisfiedPct]).toEqual([0, null]);
    expect(b.hotline).toMatchObject({ thisMonth: 3, previousMonth: 0, changePct: null, trend: 'up' });
    expect(a.whistles).toEqual({ whistles: 2, checkedIn: 2, missed: 1, medianCheckInMs: 1.75 * HOUR });
    expect(b.whistles).toEqual({ whistles: 2, checkedIn: 0, missed: 1, medianCheckInMs: null });
  });

  it('for the street: all its estates together (an even count: the mean of the middle two)', async () => {
    const { json } = await get(`street=east-street&${range}`);
    const t = json.total;
    expect(t.orders).toBe(12);
    expect(t.byCategory).toEqual({ repair: 5, hazard: 2, sanitation: 1, noise: 1, help: 1, other: 2 });
    // 1, 2, 3, 6, 8 h and 73 days.
    expect([t.resolved, t.medianResolveMs]).toEqual([6, 4.5 * HOUR]);
    expect([t.deadlinesMet, t.deadlinesMetPct]).toEqual([3, 50]);
    expect([t.rated, t.satisfiedPct]).toEqual([4, 75]);
    expect(t.hotline).toEqual({
      months: [
        { month: '2026-10', orders: 2 },
        { month: '2026-11', orders: 1 },
        { month: '2026-12', orders: 4 },
      ],
      thisMonth: 4,
      previousMonth: 1,
      changePct: 300,
      trend: 'up',
    });
    expect(t.whistles).toEqual({ whistles: 4, checkedIn: 2, missed: 2, medianCheckInMs: 1.75 * HOUR });
  });

  it('without street or estate: every estate in scope; one estate alone', async () => {
    const all = await get(range);
    expect(all.json.estates.map((e) => e.estate)).toEqual([A, B, C]);
    expect(all.json.total.orders).toBe(13);
    expect(all.json.total.ratings).toEqual({ satisfied: 3, basically: 1, unsatisfied: 1 });
    expect(all.json.total.satisfiedPct).toBe(80);
    const one = await get(`estate=${C}&${range}`);
    expect(one.json.estates.map((e) => e.estate)).toEqual([C]);
    expect(one.json.total).toMatchObject({ orders: 1, resolved: 1, medianResolveMs: HOUR / 2, deadlinesMetPct: 100, satisfiedPct: 100 });
    expect(one.json.total.whistles).toEqual({ whistles: 0, checkedIn: 0, missed: 0, medianCheckInMs: null });
  });

  it('scope: a center user sees its estates only; another estate or street is 403; volunteers are refused', async () => {
    const center = await th.addUser({ name: 'center-a', role: 'center', scopes: [`estate:${A}`] });
    const mine = await get(range, center.token);
    expect(mine.status).toBe(200);
    expect(mine.json.estates.map((e) => e.estate)).toEqual([A]);
    expect(mine.json.total.orders).toBe(7);
    const street = await get(`street=east-street&${range}`, center.token);
    expect(street.json.estates.map((e) => e.estate)).toEqual([A]);
    expect((await get(`estate=${C}&${range}`, center.token)).status).toBe(403);
    expect((await get(`street=west-street&${range}`, center.token)).status).toBe(403);
    expect((await get(`street=no-such-street&${range}`)).status).toBe(403);
    const volunteer = await th.addUser({ name: 'vol-a', role: 'volunteer', scopes: [`estate:${A}`] });
    expect((await get(range, volunteer.token)).status).toBe(403);
    expect((await th.api('GET', `/api/v1/work-orders/figures?${range}`, { token: null })).status).toBe(401);
  });

  it('bad queries: to before from, a range over 25 months, unknown parameters, a bad estate id', async () => {
    expect((await get(`from=${TO}&to=${FROM}`)).status).toBe(400);
    expect((await get(`from=${at(1, 1) - 800 * 24 * HOUR}&to=${TO}`)).status).toBe(400);
    expect((await get(`${range}&limit=3`)).status).toBe(400);
    expect((await get(`estate=${encodeURIComponent('<script>')}`)).status).toBe(400);
  });

  it("a check-in's time and lateness for the order facts (latestCheckIn)", async () => {
    const db = await th.openDatabase();
    try {
      expect(await latestCheckIn(db.db, 'a2')).toEqual({ checkInS: 1800, late: false });
      expect(await latestCheckIn(db.db, 'a3')).toEqual({ checkInS: 3 * 3600, late: true });
      expect(await latestCheckIn(db.db, 'b1')).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('default range: the last 12 local months up to now', async () => {
    const before = Date.now();
    const r = await get('');
    expect(r.status).toBe(200);
    expect(r.json.to).toBeGreaterThanOrEqual(before);
    expect(r.json.from).toBe(monthStart(r.json.to, TZ, 11));
    expect(r.json.total.hotline.months).toHaveLength(12);
  });
});
