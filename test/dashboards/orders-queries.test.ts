import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../dashboards/src/builders.js';
import { ORDER_DASHBOARDS } from '../../dashboards/src/index.js';
import { categoryOptions } from '../../dashboards/src/orders.js';
import { localMonth, subscribeOrderFacts } from '../../hub/orders/facts.js';
import type { WorkOrders } from '../../hub/orders/types.js';
import type { InfluxEventStore } from '../../hub/store/influx.js';
import { ORDER_ACTIONS, ORDER_CATEGORIES, ORDER_RATINGS, ORDER_SOURCES, ORDER_TIERS, type WorkOrderView } from '../../protocol/work-orders.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { useInfluxd } from '../support/use-influxd.js';
import { expand, panelInterval, type TimeRange } from './grafana-expand.js';
import { tableFrame, transform, type Frame, type Series } from './grafana-transform.js';

/**
 * The work-orders dashboard's panels and variables, expanded as Grafana does, against a real influxd
 * holding the `order_facts` a real hub wrote: order changes go through subscribeOrderFacts (the
 * WorkOrders.onChange subscriber of hub/main.ts) into the hub's facts writer, with known times to
 * resolve, deadlines, ratings and 12345 months, and a resident's text in every text field.
 */
const DB = 'redbutler';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TZ = 'Asia/Shanghai';
const ESTATES = [
  { estate: 'maple-court', street: 'east-street', name: '枫林苑' },
  { estate: 'pine-garden', street: 'east-street', name: '松园 二期' },
  { estate: 'willow-lane', street: 'west-street', name: '柳巷小区' },
];
const ALL: Record<string, string[]> = { street: ['east-street', 'west-street'], estate: ESTATES.map((e) => e.estate), category: [...ORDER_CATEGORIES] };
const HOSTILE = `<script>alert(1)</script>'"|\\ \n13800005678`;

const getInfluxd = useInfluxd();
let th: TestHub;
const now = Date.now();
const start = now - 6 * DAY;

async function influxql(q: string): Promise<Series[]> {
  const res = await fetch(`${getInfluxd().url}/query?${new URLSearchParams({ db: DB, q, epoch: 'ms' })}`);
  const body = (await res.json()) as { error?: string; results?: Array<{ error?: string; series?: Series[] }> };
  const error = body.error ?? body.results?.[0]?.error;
  if (error) throw new Error(`${error}\n  in: ${q}`);
  return body.results?.[0]?.series ?? [];
}

let n = 0;
function view(o: Partial<WorkOrderView> & Pick<WorkOrderView, 'estate' | 'category' | 'source'>): WorkOrderView {
  n += 1;
  const createdAt = o.createdAt ?? start + n * HOUR;
  return {
    id: `01JORDER${String(n).padStart(4, '0')}`,
    no: `GD-${n}`,
    tier: 'grid',
    state: 'new',
    title: HOSTILE,
    description: HOSTILE,
    building: HOSTILE,
    unit: HOSTILE,
    phone: '13800005678',
    overdue: false,
    reopenCount: 0,
    updatedAt: createdAt,
    ...o,
    createdAt,
  };
}

/** Orders of one estate: created, then resolved after `resolveH` hours (missing the deadline or not), rated, escalated. */
const missed = new Set<string>();
type Plan = {
  category: WorkOrderView['category'];
  source: WorkOrderView['source'];
  resolveH?: number;
  missed?: boolean;
  rating?: WorkOrderView['rating'];
  escalate?: 'community' | 'street';
  createdDaysAgo?: number;
  /** A department whistled, checking in after this many hours (late past 1 h). */
  checkInH?: number;
};
const checkIns = new Map<string, { checkInS: number; late: boolean }>();
const PLANS: Record<string, Plan[]> = {
  'maple-court': [
    { category: 'repair', source: 'resident', resolveH: 1, rating: 'satisfied' },
    { category: 'repair', source: 'resident', resolveH: 3, missed: true, rating: 'basically', escalate: 'community', checkInH: 0.5 },
    { category: 'noise', source: 'phone', resolveH: 8, rating: 'unsatisfied' },
    // A 12345 order imported now, created at the city 40 days ago: its month is the month of then.
    { category: 'hazard', source: 'hotline', createdDaysAgo: 40 },
  ],
  'pine-garden': [
    { category: 'sanitation', source: 'staff', resolveH: 2, rating: 'satisfied' },
    { category: 'help', source: 'alert', resolveH: 6, missed: true, escalate: 'street', checkInH: 3 },
    { category: 'repair', source: 'hotline', createdDaysAgo: 2 },
  ],
  'willow-lane': [
    { category: 'other', source: 'resident', resolveH: 0.5, rating: 'satisfied', escalate: 'community', checkInH: 1 },
    { category: 'repair', source: 'hotline', createdDaysAgo: 2 },
  ],
};

beforeAll(async () => {
  th = await startTestHub({ influxUrl: `${getInfluxd().url}/${DB}` });
  await th.hub.registry.addStreet('east-street', '东街道');
  await th.hub.registry.addStreet('west-street', '西街道');
  for (const { estate, street, name } of ESTATES) await th.hub.registry.addEstate(estate, { street, name });
  const listeners = new Set<Parameters<WorkOrders['onChange']>[0]>();
  const orders: Pick<WorkOrders, 'onChange'> = { onChange: (l) => (listeners.add(l), () => void listeners.delete(l)) };
  const off = subscribeOrderFacts({ orders, facts: th.hub.facts, timeZone: TZ, missedDeadline: async (id) => missed.has(id), checkIn: async (id) => checkIns.get(id) });
  const emit = (o: WorkOrderView, action: string): void => listeners.forEach((l) => l(o, action));
  let written = 0;
  for (const [estate, plans] of Object.entries(PLANS)) {
    for (const p of plans) {
      const imported = p.createdDaysAgo !== undefined ? now - HOUR - n * 60_000 : undefined;
      const o = view({ estate, category: p.category, source: p.source, ...(p.createdDaysAgo !== undefined ? { createdAt: now - p.createdDaysAgo * DAY, externalNo: `12345-${n}` } : {}) });
      emit({ ...o, updatedAt: imported ?? o.createdAt }, 'create');
      written += 1;
      if (p.escalate) {
        emit({ ...o, tier: p.escalate, updatedAt: o.createdAt + HOUR / 4 }, 'escalated');
        written += 1;
      }
      if (p.checkInH !== undefined) {
        checkIns.set(o.id, { checkInS: p.checkInH * 3600, late: p.checkInH > 1 });
        emit({ ...o, updatedAt: o.createdAt + HOUR / 3 }, 'whistled');
        emit({ ...o, updatedAt: o.createdAt + HOUR / 3 + p.checkInH * HOUR }, 'checked_in');
        written += 2;
      }
      if (p.resolveH !== undefined) {
        if (p.missed) missed.add(o.id);
        const resolved = { ...o, state: 'resolved' as const, resolvedAt: o.createdAt + p.resolveH * HOUR, updatedAt: o.createdAt + p.resolveH * HOUR };
        emit(resolved, 'resolve');
        written += 1;
        if (p.rating) {
          emit({ ...resolved, rating: p.rating, updatedAt: resolved.updatedAt + HOUR }, 'rate');
          written += 1;
        }
      }
    }
  }
  off();
  const all = await waitFor(async () => (await influxql('SELECT count("order_id") FROM "raw"."order_facts"'))[0]?.values[0]?.[1] === written, 15_000, 100);
  expect(all, `${written} order facts in InfluxDB`).toBe(true);
  const store = th.hub.store as InfluxEventStore;
  expect(await store.drained(10_000)).toBe(true);
  expect(store.stats().deadLettered).toBe(0);
}, 120_000);

afterAll(async () => {
  await th?.stop();
});

const RANGES: Array<[string, TimeRange]> = [
  ['absolute (backend)', { kind: 'absolute', from: now - 7 * DAY, to: now + HOUR }],
  ['relative (browser)', { kind: 'relative', from: 'now-7d' }],
];
interface PanelJson {
  title: string;
  interval?: string;
  targets: Array<{ query: string; resultFormat: string }>;
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
}
const spec = ORDER_DASHBOARDS[0]!;
const panels = (buildDashboard(spec).panels ?? []) as unknown as PanelJson[];
const panel = (en: string): PanelJson => panels[spec.panels.findIndex((p) => p.title.en === en)]!;
const run = async (q: string, variables: Record<string, string[]> = ALL, range = RANGES[0]![1], interval?: string): Promise<Series[]> =>
  influxql(expand(q, { range, interval: panelInterval(7 * DAY, interval), variables }));
const value = async (en: string, variables?: Record<string, string[]>): Promise<unknown> => (await run(panel(en).targets[0]!.query, variables))[0]?.values[0]?.[1];
async function table(p: PanelJson, variables = ALL): Promise<Frame> {
  const frames: Frame[] = [];
  for (const t of p.targets) frames.push(tableFrame(await run(t.query, variables, RANGES[0]![1], p.interval)));
  const [frame, ...more] = transform(frames, p.transformations ?? []);
  expect(more).toEqual([]);
  return frame!;
}

describe('work-orders dashboard on a real influxd', () => {
  for (const [label, range] of RANGES) {
    it(`every panel query returns a non-empty series (${label}), no macro or variable left`, async () => {
      const empty: string[] = [];
      for (const p of panels) {
        for (const t of p.targets) {
          const q = expand(t.query, { range, interval: panelInterval(7 * DAY, p.interval), variables: ALL });
          expect(q).not.toMatch(/\$[a-z_]/i);
          const s = await influxql(q);
          if (!s.some((x) => x.values.some((row) => row.some((v, i) => x.columns[i] !== 'time' && v !== null)))) empty.push(`${p.title}: ${q}`);
        }
      }
      expect(empty).toEqual([]);
    });
  }

  it('the figures: new orders, median time to resolve, deadlines met %, satisfied %', async () => {
    expect(await value('New orders')).toBe(9);
    // 0.5, 1, 2, 3, 6, 8 h: the mean of the middle two.
    expect(await value('Median time to resolve')).toBe(2.5 * 3600);
    expect(await value('Deadlines met')).toBeCloseTo((4 / 6) * 100, 6);
    expect(await value('Satisfied')).toBeCloseTo(80, 6);
  });

  it('whistles: per day, the median time to check in (0.5, 1, 3 h), late check-ins', async () => {
    expect(await value('Median time to check in')).toBe(3600);
    expect(await value('Late check-ins')).toBe(1);
    const [whistled, checkedIn] = await Promise.all(panel('Whistles and check-ins per day').targets.map((t) => run(t.query)));
    const total = (s: Series[]): number => s.flatMap((x) => x.values.map((r) => Number(r[1]))).reduce((a, b) => a + b, 0);
    expect([total(whistled!), total(checkedIn!)]).toEqual([3, 3]);
  });

  it('by category, source, rating; 12345 by the month the order was created; the category variable narrows', async () => {
    const counts = async (en: string, tag: string, variables = ALL): Promise<Record<string, number>> =>
      Object.fromEntries((await table(panel(en), variables)).rows.map((r) => [r[tag] as string, r.orders as number]));
    expect(await counts('By category', 'category')).toEqual({ repair: 4, noise: 1, hazard: 1, sanitation: 1, help: 1, other: 1 });
    expect(await counts('By source', 'source')).toEqual({ resident: 3, phone: 1, hotline: 3, staff: 1, alert: 1 });
    expect(await counts('Ratings', 'rating')).toEqual({ satisfied: 3, basically: 1, unsatisfied: 1 });
    const months: Record<string, number> = {};
    for (const ago of [40, 2, 2]) months[localMonth(now - ago * DAY, TZ)] = (months[localMonth(now - ago * DAY, TZ)] ?? 0) + 1;
    expect(await counts('12345 orders per month', 'month')).toEqual(months);
    const repair = { ...ALL, category: ['repair'] };
    expect(await value('New orders', repair)).toBe(4);
    expect(await counts('By category', 'category', repair)).toEqual({ repair: 4 });
    expect(await value('Median time to resolve', repair)).toBe(2 * 3600);
  });

  it('orders by estate: one row per estate with its name and figures; one estate selected gives only that estate', async () => {
    const frame = await table(panel('Orders by estate'));
    const rows = Object.fromEntries(frame.rows.map((r) => [r.estate as string, r]));
    expect(Object.keys(rows).sort()).toEqual(ESTATES.map((e) => e.estate));
    expect(rows['maple-court']).toMatchObject({ name: '枫林苑', orders: 4, hotline: 1, median_resolve_s: 3 * 3600, satisfied: expect.closeTo(200 / 3, 6) });
    expect(rows['maple-court']!.deadlines_met).toBeCloseTo(200 / 3, 6);
    expect(rows['pine-garden']).toMatchObject({ name: '松园 二期', orders: 3, hotline: 1, median_resolve_s: 4 * 3600, deadlines_met: 50, satisfied: 100 });
    expect(rows['willow-lane']).toMatchObject({ name: '柳巷小区', orders: 2, hotline: 1, median_resolve_s: 1800, deadlines_met: 100, satisfied: 100 });
    const one = { street: ['west-street'], estate: ['willow-lane'], category: [...ORDER_CATEGORIES] };
    for (const p of panels) {
      for (const t of p.targets) {
        for (const s of await run(t.query, one)) {
          if (s.tags?.estate) expect(s.tags.estate).toBe('willow-lane');
          if (s.tags?.estate_name) expect(s.tags.estate_name).toBe('柳巷小区');
        }
      }
    }
    expect((await table(panel('Orders by estate'), one)).rows.map((r) => r.estate)).toEqual(['willow-lane']);
  });

  it('the real thing: an order created and resolved over REST on the hub becomes order_facts through WorkOrders.onChange', async () => {
    const script = `<script>alert(1)</script>'"|\\ 13800005678`;
    const created = await th.api('POST', '/api/v1/work-orders', { body: { estate: 'maple-court', source: 'phone', category: 'noise', description: script, building: '<b>3</b>', phone: '13800005678' } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.id as string;
    const resolved = await th.api('POST', `/api/v1/work-orders/${id}/actions`, { body: { action: 'resolve', note: script } });
    expect(resolved.status).toBe(200);
    const facts = async (): Promise<Series[]> => influxql(`SELECT * FROM "raw"."order_facts" WHERE "order_id" = '${id}'`);
    expect(await waitFor(async () => (await facts())[0]?.values.length === 2, 10_000, 50)).toBe(true);
    const [s] = await facts();
    const rows = s!.values.map((v) => Object.fromEntries(s!.columns.map((c, i) => [c, v[i]])));
    expect(rows.map((r) => [r.action, r.estate, r.estate_name, r.street, r.category, r.source, r.tier])).toEqual([
      ['created', 'maple-court', '枫林苑', 'east-street', 'noise', 'phone', 'grid'],
      ['resolved', 'maple-court', '枫林苑', 'east-street', 'noise', 'phone', 'grid'],
    ]);
    expect(rows[1]).toMatchObject({ deadline_met: 1, resolve_s: expect.any(Number) });
    expect(rows[1]!.resolve_s as number).toBeLessThan(60);
  });

  it("a resident's text reaches no tag and no field: every tag value is an id or from the fixed lists", async () => {
    const allowed: Record<string, readonly string[]> = {
      estate: ESTATES.map((e) => e.estate),
      estate_name: ESTATES.map((e) => e.name),
      street: ['east-street', 'west-street'],
      category: ORDER_CATEGORIES,
      source: ORDER_SOURCES,
      tier: ORDER_TIERS,
      action: ORDER_ACTIONS,
      rating: ORDER_RATINGS,
    };
    const keys = (await influxql('SHOW TAG KEYS FROM "raw"."order_facts"')).flatMap((s) => s.values.map((r) => String(r[0])));
    expect(keys.sort()).toEqual([...Object.keys(allowed), 'month'].sort());
    for (const key of keys) {
      const values = (await influxql(`SHOW TAG VALUES FROM "raw"."order_facts" WITH KEY = "${key}"`)).flatMap((s) => s.values.map((r) => String(r[1])));
      for (const v of values) {
        if (key === 'month') expect(v).toMatch(/^\d{4}-\d{2}$/);
        else expect(allowed[key], `${key}=${v}`).toContain(v);
      }
    }
    const everything = JSON.stringify(await influxql('SELECT * FROM "raw"."order_facts"'));
    for (const text of ['script', '13800005678', '|']) expect(everything).not.toContain(text);
  });

  it('the category variable: the fixed list, names shown and ids as values (Grafana custom variable `text : value`)', () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      const options = categoryOptions(lang)
        .split(/,\s*/)
        .map((o) => o.split(' : '));
      expect(options.map((o) => o[1])).toEqual([...ORDER_CATEGORIES]);
      for (const [text] of options) expect(text).toMatch(lang === 'zh-CN' ? /\p{Script=Han}/u : /^[A-Za-z ]+$/);
    }
    const category = buildDashboard(spec).templating.list!.find((v) => v.name === 'category')!;
    expect(category).toMatchObject({ type: 'custom', multi: true, includeAll: true });
  });
});
