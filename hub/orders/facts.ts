import type { Logger } from '../../lib/log.js';
import { localTime } from '../../lib/zoned.js';
import { ORDER_ACTIONS, ORDER_CATEGORIES, ORDER_RATINGS, ORDER_SOURCES, ORDER_TIERS, type WorkOrderView } from '../../protocol/work-orders.js';
import type { FactPoint, FactsWriter } from '../store/facts.js';
import type { WorkOrders } from './types.js';

/**
 * Work-order facts for Grafana (issue 19, docs/work-orders.md "Figures"): every committed change of
 * an order (WorkOrders.onChange) becomes one `order_facts` point, written like the alert facts through
 * the store's facts writer (same batches, spool and dead letters; dropped on a SQLite-only hub).
 *
 * Tags are ids and the fixed lists of protocol/work-orders.ts only: `estate` (a registry id),
 * `street`, `category`, `source`, `tier`, `action`, plus `rating` on a rating and `month` (the local
 * month the order was created, `2026-12`) on a creation; the writer adds `estate_name` from the
 * registry. What a resident typed (title, description, building, unit, phone) is never written at
 * all, so it can reach neither a tag nor a Grafana variable. A value outside its list (a newer hub's
 * category read by an older one) is written as `unknown`.
 */
export const ORDER_FACTS = 'order_facts';

/** The step action of a change: onChange may name either (`resolve` or `resolved`). */
const CHANGE_ACTIONS: Record<string, string> = {
  create: 'created',
  assign: 'assigned',
  start: 'started',
  resolve: 'resolved',
  close: 'closed',
  reopen: 'reopened',
  rate: 'rated',
  escalate: 'escalated',
  whistle: 'whistled',
  check_in: 'checked_in',
  checkIn: 'checked_in',
  report: 'reported',
};

const known = (list: readonly string[], value: string | null | undefined): string => (value && list.includes(value) ? value : 'unknown');

/** `created`, `resolved`, … for an onChange action (a change name or a step action). */
export function factAction(action: string): string {
  return known(ORDER_ACTIONS, CHANGE_ACTIONS[action] ?? action);
}

/** The local month of `at`, `YYYY-MM`. */
export function localMonth(at: number, timeZone: string): string {
  const l = localTime(at, timeZone);
  return `${l.year}-${String(l.month).padStart(2, '0')}`;
}

export interface OrderFactContext {
  street: string;
  timeZone: string;
  /** On `resolved`: whether the order ran out of time on the way (an escalation by deadline). */
  missedDeadline?: boolean;
  /** On `checked_in`: the whistle's time to check in (报到) and whether it came after its deadline. */
  checkIn?: { checkInS: number; late: boolean };
  /** Time of the change (default: the order's updatedAt). */
  at?: number;
}

/**
 * One `order_facts` point. Fields: `order_id` (string; counted by the dashboards), on `resolved`
 * `resolve_s` (seconds from creation) and `deadline_met` (1: never escalated by deadline, 0), on
 * `closed` `close_s`, on `rated` `satisfied` (1: 满意 or 基本满意, 0: 不满意), on `checked_in`
 * `checkin_s` (from the whistle) and `checkin_late` (1: after its check-in time). Time: the change's,
 * with a sub-millisecond offset from the order id and action (two orders changed in one ms stay
 * two points; alertFact does the same).
 */
export function orderFact(order: WorkOrderView, onChangeAction: string, ctx: OrderFactContext): FactPoint {
  const action = factAction(onChangeAction);
  const tags: Record<string, string> = {
    estate: order.estate,
    street: ctx.street,
    category: known(ORDER_CATEGORIES, order.category),
    source: known(ORDER_SOURCES, order.source),
    tier: known(ORDER_TIERS, order.tier),
    action,
  };
  const fields: FactPoint['fields'] = { order_id: order.id };
  if (action === 'created') tags.month = localMonth(order.createdAt, ctx.timeZone);
  if (action === 'resolved' && order.resolvedAt) {
    fields.resolve_s = Math.max(0, order.resolvedAt - order.createdAt) / 1000;
    fields.deadline_met = ctx.missedDeadline ? 0 : 1;
  }
  if (action === 'closed' && order.closedAt) fields.close_s = Math.max(0, order.closedAt - order.createdAt) / 1000;
  if (action === 'rated' && order.rating) {
    tags.rating = known(ORDER_RATINGS, order.rating);
    fields.satisfied = order.rating === 'unsatisfied' ? 0 : 1;
  }
  if (action === 'checked_in' && ctx.checkIn) {
    fields.checkin_s = Math.max(0, ctx.checkIn.checkInS);
    fields.checkin_late = ctx.checkIn.late ? 1 : 0;
  }
  const at = ctx.at ?? order.updatedAt;
  return { measurement: ORDER_FACTS, tags, fields, ts: Math.floor(at) + (fnv1a(`${order.id}/${action}`) % 1000) / 1000 };
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface OrderFactsWiring {
  orders: Pick<WorkOrders, 'onChange'>;
  facts: FactsWriter;
  timeZone: string;
  /** Whether a resolved order missed a deadline (hub/orders/figures.ts missedDeadline). */
  missedDeadline: (orderId: string) => Promise<boolean>;
  /** The order's latest check-in of a whistled department (whistles: hub/orders/whistle.ts). */
  checkIn?: (orderId: string) => Promise<{ checkInS: number; late: boolean } | undefined>;
  log?: Logger;
}

/**
 * Subscribe the facts writer to every committed order change. A no-op (nothing subscribed) when the
 * writer drops facts (SQLite store). Returns the unsubscribe function.
 */
export function subscribeOrderFacts(w: OrderFactsWiring): () => void {
  if (w.facts.kind === 'none') return () => undefined;
  // What the view does not say is read from the database, then the point is written; never throws
  // (facts are best effort: a failed read is logged and the point written without it).
  const read = async <T>(what: string, orderId: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      w.log?.warn({ err, order: orderId }, `order ${what} not read for its facts`);
      return fallback;
    }
  };
  return w.orders.onChange((order, onChangeAction) => {
    const ctx: OrderFactContext = { street: w.facts.names.street(order.estate), timeZone: w.timeZone };
    const points = [...w.facts.names.changes([order.estate])];
    const write = (extra: Partial<OrderFactContext> = {}): void => w.facts.write([...points, orderFact(order, onChangeAction, { ...ctx, ...extra })]);
    const action = factAction(onChangeAction);
    if (action === 'resolved') {
      void read('escalations', order.id, () => w.missedDeadline(order.id), false).then((missedDeadline) => write({ missedDeadline }));
    } else if (action === 'checked_in' && w.checkIn) {
      const checkIn = w.checkIn;
      void read('check-in', order.id, () => checkIn(order.id), undefined).then((c) => write(c ? { checkIn: c } : {}));
    } else {
      write();
    }
  });
}
