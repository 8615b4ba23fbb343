import type { Kysely, SelectQueryBuilder } from 'kysely';
import { localTime, zonedInstant } from '../../lib/zoned.js';
import {
  ORDER_CATEGORIES,
  ORDER_RATINGS,
  ORDER_SOURCES,
  type HotlineTrend,
  type OrderCategory,
  type OrderFiguresBlock,
  type OrderRating,
  type OrderSource,
  type OrderTier,
} from '../../protocol/work-orders.js';
import { RbError } from '../errors.js';
import type { Schema } from '../platform/db/schema.js';
import { localMonth } from './facts.js';

/**
 * The figures of the street overview (issue 19 build 7, docs/work-orders.md "Figures"), computed from
 * the work-order tables with kysely on both engines: counts grouped in SQL, medians in JS over
 * bounded reads (at most MAX_ROWS orders per read; a range with more is refused: narrow it).
 *
 * - orders by category and source: created in [from, to);
 * - time to resolve, deadlines met: orders resolved in [from, to); an order missed when a step
 *   `escalated` by `system` (a deadline ran out) is in its history, or it was resolved past the
 *   deadline of its last tier (deadlineMissed);
 * - ratings: orders rated in [from, to) (a `rated` step), each with its rating now;
 * - 12345 orders (source `hotline`) per local month from the month of `from` to the month of `to`,
 *   this month (the last) against the one before.
 */
export const MAX_ROWS = 100_000;
/** The longest range, in local months. */
export const MAX_MONTHS = 25;

export interface FiguresRange {
  estates: readonly string[];
  from: number;
  to: number;
  timeZone: string;
  /** The configured deadlines: an order resolved past the deadline of its last tier missed it too. */
  deadlineFor?: DeadlineFor;
}

export interface Month {
  month: string;
  start: number;
  end: number;
}

/** The local months that [from, to) touches, oldest first. */
export function monthsOf(from: number, to: number, timeZone: string): Month[] {
  const out: Month[] = [];
  const first = localTime(from, timeZone);
  let year = first.year;
  let month = first.month;
  for (;;) {
    const start = zonedInstant(year, month, 1, 0, timeZone);
    if (start >= to && out.length > 0) break;
    const next = month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 };
    out.push({ month: `${year}-${String(month).padStart(2, '0')}`, start, end: zonedInstant(next.year, next.month, 1, 0, timeZone) });
    if (out.length > MAX_MONTHS) throw new RbError('RB_ERR_BAD_QUERY', `from: the range spans more than ${MAX_MONTHS} months; narrow it`);
    ({ year, month } = next);
  }
  return out;
}

/** Start of the local month `back` months before the one of `at`. */
export function monthStart(at: number, timeZone: string, back = 0): number {
  const l = localTime(at, timeZone);
  const index = l.year * 12 + (l.month - 1) - back;
  return zonedInstant(Math.floor(index / 12), (index % 12) + 1, 1, 0, timeZone);
}

/** The median of numbers (the mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** part / whole in %, one decimal; null when whole is 0. */
export function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

function trend(months: Month[], counts: Map<string, number>): HotlineTrend {
  const list = months.map((m) => ({ month: m.month, orders: counts.get(m.month) ?? 0 }));
  const thisMonth = list.at(-1)?.orders ?? 0;
  const previousMonth = list.length > 1 ? list.at(-2)!.orders : 0;
  return {
    months: list,
    thisMonth,
    previousMonth,
    changePct: previousMonth === 0 ? null : Math.round(((thisMonth - previousMonth) / previousMonth) * 1000) / 10,
    trend: thisMonth > previousMonth ? 'up' : thisMonth < previousMonth ? 'down' : 'flat',
  };
}

/** What one estate (or all together) collected before the figures are worked out. */
class Tally {
  orders = 0;
  byCategory = zeros<OrderCategory>(ORDER_CATEGORIES);
  bySource = zeros<OrderSource>(ORDER_SOURCES);
  resolveMs: number[] = [];
  met = 0;
  ratings = zeros<OrderRating>(ORDER_RATINGS);
  hotline = new Map<string, number>();

  block(months: Month[]): OrderFiguresBlock {
    const rated = ORDER_RATINGS.reduce((n, r) => n + this.ratings[r], 0);
    const resolved = this.resolveMs.length;
    return {
      orders: this.orders,
      byCategory: this.byCategory,
      bySource: this.bySource,
      resolved,
      medianResolveMs: median(this.resolveMs),
      deadlinesMet: this.met,
      deadlinesMetPct: percent(this.met, resolved),
      ratings: this.ratings,
      rated,
      satisfiedPct: percent(this.ratings.satisfied + this.ratings.basically, rated),
      hotline: trend(months, this.hotline),
    };
  }
}

function bounded<T>(rows: T[], what: string): T[] {
  if (rows.length > MAX_ROWS) throw new RbError('RB_ERR_BAD_QUERY', `from: more than ${MAX_ROWS} ${what} in the range; narrow it`);
  return rows;
}

/** The figures of each estate asked for and of all of them together. */
export async function orderFigures(db: Kysely<Schema>, r: FiguresRange): Promise<{ total: OrderFiguresBlock; estates: Map<string, OrderFiguresBlock> }> {
  const months = monthsOf(r.from, r.to, r.timeZone);
  const total = new Tally();
  const tallies = new Map(r.estates.map((e) => [e, new Tally()]));
  const each = (estate: string, fn: (t: Tally) => void): void => {
    const t = tallies.get(estate);
    if (!t) return;
    fn(t);
    fn(total);
  };
  if (r.estates.length > 0) {
    const estates = [...r.estates];
    const created = await db
      .selectFrom('work_orders')
      .select((eb) => ['estate', 'category', 'source', eb.fn.countAll().as('n')])
      .where('estate', 'in', estates)
      .where('created_at', '>=', r.from)
      .where('created_at', '<', r.to)
      .groupBy(['estate', 'category', 'source'])
      .execute();
    for (const row of created) {
      const n = Number(row.n);
      each(row.estate, (t) => {
        t.orders += n;
        if (row.category in t.byCategory) t.byCategory[row.category as OrderCategory] += n;
        if (row.source in t.bySource) t.bySource[row.source as OrderSource] += n;
      });
    }

    const resolvedIn = db
      .selectFrom('work_orders')
      .where('estate', 'in', estates)
      .where('resolved_at', '>=', r.from)
      .where('resolved_at', '<', r.to);
    const resolved = bounded(
      await resolvedIn.select(['id', 'estate', 'category', 'tier', 'created_at', 'tier_at', 'resolved_at']).limit(MAX_ROWS + 1).execute(),
      'resolved orders',
    );
    const history = await deadlineHistory(db, resolvedIn.select('id'));
    for (const row of resolved) {
      const missed = deadlineMissed(row, history, r.deadlineFor);
      each(row.estate, (t) => {
        t.resolveMs.push(Math.max(0, Number(row.resolved_at) - Number(row.created_at)));
        if (!missed) t.met += 1;
      });
    }

    // Ratings by when they were given (a 'rated' step in the range), each order once with its rating now.
    const ratings = await db
      .selectFrom('work_orders')
      .select((eb) => ['estate', 'rating', eb.fn.countAll().as('n')])
      .where('estate', 'in', estates)
      .where('rating', 'is not', null)
      .where('id', 'in', db.selectFrom('work_order_steps').select('order_id').where('action', '=', 'rated').where('at', '>=', r.from).where('at', '<', r.to))
      .groupBy(['estate', 'rating'])
      .execute();
    for (const row of ratings) {
      each(row.estate, (t) => {
        if (row.rating && row.rating in t.ratings) t.ratings[row.rating as OrderRating] += Number(row.n);
      });
    }

    const hotline = bounded(
      await db
        .selectFrom('work_orders')
        .select(['estate', 'created_at'])
        .where('estate', 'in', estates)
        .where('source', '=', 'hotline')
        .where('created_at', '>=', months[0]!.start)
        .where('created_at', '<', months.at(-1)!.end)
        .limit(MAX_ROWS + 1)
        .execute(),
      '12345 orders',
    );
    for (const row of hotline) {
      const month = localMonth(Number(row.created_at), r.timeZone);
      each(row.estate, (t) => t.hotline.set(month, (t.hotline.get(month) ?? 0) + 1));
    }
  }
  return { total: total.block(months), estates: new Map([...tallies].map(([e, t]) => [e, t.block(months)])) };
}

/** Time to resolve an order of `category` in `tier` from `from`: its deadline (hub/orders/deadlines.ts deadlinesFrom). */
export type DeadlineFor = (category: OrderCategory, tier: OrderTier, from: number) => number;

interface DeadlineHistory {
  /** Orders escalated by `system` (a deadline ran out). */
  escalated: Set<string>;
  /** The last reopening of each order (its deadline in the tier then starts again). */
  reopenedAt: Map<string, number>;
}

/** A subquery of order ids. */
type OrderIds = SelectQueryBuilder<Schema, 'work_orders', { id: string }>;

async function deadlineHistory(db: Kysely<Schema>, ids: OrderIds): Promise<DeadlineHistory> {
  const escalated = await db
    .selectFrom('work_order_steps')
    .select('order_id')
    .distinct()
    .where('action', '=', 'escalated')
    .where('actor', '=', 'system')
    .where('order_id', 'in', ids)
    .execute();
  const reopened = await db
    .selectFrom('work_order_steps')
    .select((eb) => ['order_id', eb.fn.max('at').as('at')])
    .where('action', '=', 'reopened')
    .where('order_id', 'in', ids)
    .groupBy('order_id')
    .execute();
  return { escalated: new Set(escalated.map((e) => e.order_id)), reopenedAt: new Map(reopened.map((x) => [x.order_id, Number(x.at)])) };
}

/**
 * Whether a resolved order ran out of time on the way: escalated by `system`, or resolved after the
 * deadline of the tier it was resolved in (at the street, the last tier, an order past its deadline
 * stays and is only marked overdue), counted from entering the tier or from its last reopening.
 */
export function deadlineMissed(
  row: { id: string; category: string; tier: string; tier_at: number; resolved_at: number | null },
  history: DeadlineHistory,
  deadlineFor?: DeadlineFor,
): boolean {
  if (history.escalated.has(row.id)) return true;
  if (!deadlineFor || row.resolved_at === null) return false;
  const from = Math.max(Number(row.tier_at), history.reopenedAt.get(row.id) ?? 0);
  return Number(row.resolved_at) > deadlineFor(row.category as OrderCategory, row.tier as OrderTier, from);
}

/** Whether a resolved order missed a deadline (the `deadline_met` of its facts, 0 when it did). */
export async function missedDeadline(db: Kysely<Schema>, orderId: string, deadlineFor?: DeadlineFor): Promise<boolean> {
  const row = await db.selectFrom('work_orders').select(['id', 'category', 'tier', 'tier_at', 'resolved_at']).where('id', '=', orderId).executeTakeFirst();
  if (!row) return false;
  const ids = db.selectFrom('work_orders').select('id').where('id', '=', orderId);
  return deadlineMissed(row, await deadlineHistory(db, ids), deadlineFor);
}
