import { describe, expect, it } from 'vitest';
import { factAction, orderFact, subscribeOrderFacts } from '../../../hub/orders/facts.js';
import { deadlineMissed, median, monthsOf, percent } from '../../../hub/orders/figures.js';
import type { WorkOrders } from '../../../hub/orders/types.js';
import type { FactPoint, FactsWriter } from '../../../hub/store/facts.js';
import { toPoint } from '../../../hub/store/facts.js';
import { NameBook } from '../../../hub/store/facts-names.js';
import { encodePoint } from '../../../hub/store/influx-line.js';
import type { WorkOrderView } from '../../../protocol/work-orders.js';
import { at, HOUR, TZ } from './figures-seed.js';

/** order_facts from order changes (hub/orders/facts.ts): tags from fixed lists only, the fields of each action, the wiring. */
const HOSTILE = `<script>alert(1)</script>'"|\\ \n\u0000`;
const order = (o: Partial<WorkOrderView> = {}): WorkOrderView => ({
  id: '01JORDERFACTS0000000000001',
  no: 'GD20261207-0001',
  estate: 'maple-court',
  source: 'resident',
  category: 'repair',
  tier: 'grid',
  state: 'new',
  title: HOSTILE,
  description: HOSTILE,
  building: HOSTILE,
  unit: HOSTILE,
  phone: '13800005678',
  createdAt: at(12, 1, 4),
  updatedAt: at(12, 1, 4),
  overdue: false,
  reopenCount: 0,
  ...o,
});
const ctx = { street: 'east-street', timeZone: TZ };

function recorder(kind: FactsWriter['kind'] = 'influxdb'): FactsWriter & { points: FactPoint[] } {
  const points: FactPoint[] = [];
  const names = new NameBook({ estates: () => [{ id: 'maple-court', street: 'east-street', name: '枫林苑' }] });
  return { kind, names, points, write: (p) => void points.push(...p.map((x) => names.tag(x))), start: async () => undefined };
}
function emitter(): { orders: Pick<WorkOrders, 'onChange'>; emit: (o: WorkOrderView, a: string) => void; listeners: number } {
  const ls = new Set<(o: WorkOrderView, a: string) => void>();
  return {
    orders: { onChange: (l) => (ls.add(l), () => void ls.delete(l)) },
    emit: (o, a) => ls.forEach((l) => l(o, a)),
    get listeners() {
      return ls.size;
    },
  };
}

describe('order facts', () => {
  it('created: ids and fixed lists as tags, the local month of creation, the order id; no text of the resident anywhere', () => {
    // 04:00 in Shanghai on Dec 1 is still November in UTC.
    const p = orderFact(order(), 'create', ctx);
    expect(p).toMatchObject({ measurement: 'order_facts', fields: { order_id: '01JORDERFACTS0000000000001' } });
    expect(p.tags).toEqual({ estate: 'maple-court', street: 'east-street', category: 'repair', source: 'resident', tier: 'grid', action: 'created', month: '2026-12' });
    expect(Math.floor(p.ts)).toBe(at(12, 1, 4));
    expect(JSON.stringify(p)).not.toMatch(/script|13800005678/);
    const line = encodePoint(toPoint(p));
    expect(line.ok).toBe(true);
  });

  it('resolved: seconds to resolve and deadline_met; closed: close_s; rated: the rating tag and satisfied 1/0', () => {
    const resolved = order({ state: 'resolved', resolvedAt: at(12, 1, 4) + 3 * HOUR, updatedAt: at(12, 1, 7) });
    expect(orderFact(resolved, 'resolved', { ...ctx, missedDeadline: false }).fields).toEqual({ order_id: resolved.id, resolve_s: 3 * 3600, deadline_met: 1 });
    expect(orderFact(resolved, 'resolve', { ...ctx, missedDeadline: true }).fields.deadline_met).toBe(0);
    expect(orderFact({ ...resolved, state: 'closed', closedAt: at(12, 2, 4) }, 'close', ctx).fields.close_s).toBe(24 * 3600);
    for (const [rating, satisfied] of [['satisfied', 1], ['basically', 1], ['unsatisfied', 0]] as const) {
      const p = orderFact({ ...resolved, rating }, 'rate', ctx);
      expect([p.tags.rating, p.fields.satisfied]).toEqual([rating, satisfied]);
    }
    expect(orderFact({ ...resolved, tier: 'community' }, 'escalate', ctx).tags).toMatchObject({ action: 'escalated', tier: 'community' });
  });

  it('a value outside the fixed lists is written as unknown; two orders changed in one ms stay two points', () => {
    const odd = order({ category: 'x" OR 1=1' as never, source: HOSTILE as never, tier: 'moon' as never });
    expect(orderFact(odd, 'frobnicate', ctx).tags).toMatchObject({ category: 'unknown', source: 'unknown', tier: 'unknown', action: 'unknown' });
    expect(factAction('checkIn')).toBe('checked_in');
    const a = orderFact(order({ id: '01JORDERFACTS000000000000A' }), 'create', ctx);
    const b = orderFact(order({ id: '01JORDERFACTS000000000000B' }), 'create', ctx);
    expect(a.ts).not.toBe(b.ts);
  });

  it('the wiring: every change is written with the estate name and the street; a resolution asks the escalations first', async () => {
    const facts = recorder();
    const e = emitter();
    const asked: string[] = [];
    const off = subscribeOrderFacts({ orders: e.orders, facts, timeZone: TZ, missedDeadline: async (id) => (asked.push(id), true) });
    e.emit(order(), 'create');
    e.emit(order({ state: 'resolved', resolvedAt: at(12, 1, 5) }), 'resolve');
    await new Promise((r) => setImmediate(r));
    const orderPoints = facts.points.filter((p) => p.measurement === 'order_facts');
    expect(orderPoints.map((p) => [p.tags.action, p.tags.estate_name, p.tags.street])).toEqual([
      ['created', '枫林苑', 'east-street'],
      ['resolved', '枫林苑', 'east-street'],
    ]);
    expect(orderPoints[1]!.fields.deadline_met).toBe(0);
    expect(asked).toEqual([order().id]);
    // The estate's name lookup (the dashboards' estate variable) goes with its first fact.
    expect(facts.points.some((p) => p.measurement === 'estate_names' && p.tags.estate === 'maple-court')).toBe(true);
    off();
    expect(e.listeners).toBe(0);
  });

  it('a check-in: the whistle\'s time to check in and whether it was late, read from the whistles', async () => {
    const facts = recorder();
    const e = emitter();
    subscribeOrderFacts({ orders: e.orders, facts, timeZone: TZ, missedDeadline: async () => false, checkIn: async () => ({ checkInS: 5400, late: true }) });
    e.emit(order(), 'whistled');
    e.emit(order(), 'checked_in');
    await new Promise((r) => setImmediate(r));
    const [whistled, checkedIn] = facts.points.filter((p) => p.measurement === 'order_facts');
    expect(whistled!.fields).toEqual({ order_id: order().id });
    expect(checkedIn!.tags.action).toBe('checked_in');
    expect(checkedIn!.fields).toEqual({ order_id: order().id, checkin_s: 5400, checkin_late: 1 });
  });

  it('a failed read of the escalations still writes the resolution (as met), never throws', async () => {
    const facts = recorder();
    const e = emitter();
    subscribeOrderFacts({ orders: e.orders, facts, timeZone: TZ, missedDeadline: () => Promise.reject(new Error('database gone')) });
    e.emit(order({ state: 'resolved', resolvedAt: at(12, 1, 5) }), 'resolved');
    await new Promise((r) => setImmediate(r));
    expect(facts.points.find((p) => p.measurement === 'order_facts')?.fields.deadline_met).toBe(1);
  });

  it('a SQLite-only hub (facts dropped): nothing is subscribed', () => {
    const e = emitter();
    const off = subscribeOrderFacts({ orders: e.orders, facts: recorder('none'), timeZone: TZ, missedDeadline: async () => false });
    expect(e.listeners).toBe(0);
    off();
  });
});

describe('figures arithmetic', () => {
  const deadlineFor = (_c: string, tier: string, from: number): number => from + (tier === 'street' ? 72 : 24) * HOUR;
  const none = { escalated: new Set<string>(), reopenedAt: new Map<string, number>() };
  const row = { id: 'o1', category: 'repair', tier: 'street', tier_at: at(12, 1), resolved_at: at(12, 1) + 71 * HOUR };

  it('deadline missed: escalated by the hub, or resolved past the last tier\'s deadline, counted from the tier or the last reopening', () => {
    expect(deadlineMissed(row, none, deadlineFor)).toBe(false);
    expect(deadlineMissed({ ...row, resolved_at: at(12, 1) + 73 * HOUR }, none, deadlineFor)).toBe(true);
    expect(deadlineMissed({ ...row, resolved_at: at(12, 1) + 73 * HOUR }, { ...none, reopenedAt: new Map([['o1', at(12, 1) + 2 * HOUR]]) }, deadlineFor)).toBe(false);
    expect(deadlineMissed(row, { ...none, escalated: new Set(['o1']) }, deadlineFor)).toBe(true);
    // Without the configured deadlines only the escalations tell.
    expect(deadlineMissed({ ...row, resolved_at: at(12, 30) }, none)).toBe(false);
  });

  it('median, percent, local months', () => {
    expect([median([]), median([5]), median([9, 1, 5]), median([8, 1, 2, 6])]).toEqual([null, 5, 5, 4]);
    expect([percent(2, 3), percent(0, 0), percent(1, 1)]).toEqual([66.7, null, 100]);
    // 23:30 on Nov 30 in Shanghai is November; the range ends just after midnight Dec 1: two months.
    expect(monthsOf(at(11, 30, 23, 30), at(12, 1, 0, 1), TZ).map((m) => m.month)).toEqual(['2026-11', '2026-12']);
    expect(monthsOf(at(1, 1, 0), at(12, 31, 23), TZ)).toHaveLength(12);
    expect(() => monthsOf(at(1, 1) - 800 * 24 * HOUR, at(12, 1), TZ)).toThrow(/narrow/);
  });
});
