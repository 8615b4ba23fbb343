import { OPEN_ORDER_STATES, ORDER_TIERS, type OrderAction, type OrderCategory, type OrderRating, type OrderState, type OrderTier } from '../../protocol/work-orders.js';
import { RbError } from '../errors.js';
import type { OrderActor, OrderChange } from './types.js';

/**
 * The work-order state machine (docs/work-orders.md "States and tiers") as a pure function: the order's
 * facts, a change, who asks and when → what to write, or RB_ERR_CONFLICT (409) saying why not. No clock,
 * no I/O: hub/orders/service.ts applies the result in one transaction.
 *
 *   new → assigned → in_progress → resolved → closed
 *   resolved → reopened → assigned | in_progress
 *
 * A small thing fixed on the spot may be resolved from any open state; note and escalate work in any
 * open state; rate only when resolved; a resident reopens (rates 不满意) once, staff any number of times.
 */

/** Time to resolve an order of `category` in `tier`, starting at `from` → its deadline (ms). */
export type DeadlineFor = (category: OrderCategory, tier: OrderTier, from: number) => number;

const HOUR = 3_600_000;
/** Until config `orders.deadlines` says otherwise: a day in the grid, two in the community, three in the street. */
export const DEFAULT_TIER_HOURS: Record<OrderTier, number> = { grid: 24, community: 48, street: 72 };
export const defaultDeadlineFor: DeadlineFor = (_category, tier, from) => from + DEFAULT_TIER_HOURS[tier] * HOUR;

/** What the machine needs to know of an order. */
export interface OrderFacts {
  state: OrderState;
  tier: OrderTier;
  category: OrderCategory;
  reopenCount: number;
  assigneeUser: string | null;
  assigneeDept: string | null;
}

/** Columns a transition sets (those absent stay as they are). */
export interface OrderPatch {
  state: OrderState;
  tier?: OrderTier;
  tier_at?: number;
  deadline_at?: number | null;
  resolved_at?: number | null;
  closed_at?: number | null;
  rating?: OrderRating;
  reopen_count?: number;
  assignee_user?: string | null;
  assignee_dept?: string | null;
}

export interface Transition {
  /** The step written to the order's history. */
  step: OrderAction;
  patch: OrderPatch;
}

const isOpen = (s: OrderState): boolean => OPEN_ORDER_STATES.includes(s);
const conflict = (message: string): RbError => new RbError('RB_ERR_CONFLICT', message);

function refuse(action: string, state: OrderState, allowed: string): never {
  throw conflict(`cannot ${action} an order that is ${state}: only ${allowed}`);
}

export function transition(o: OrderFacts, change: OrderChange, actor: OrderActor, now: number, deadlineFor: DeadlineFor): Transition {
  const s = o.state;
  switch (change.action) {
    case 'assign': {
      if (!change.user && !change.department) throw new RbError('RB_ERR_BAD_BODY', 'assign: give a user or a department');
      if (!isOpen(s)) refuse('assign', s, 'an open order (new, assigned, in progress, reopened) can be assigned');
      return { step: 'assigned', patch: { state: 'assigned', assignee_user: change.user ?? null, assignee_dept: change.department ?? null } };
    }
    case 'start': {
      if (s !== 'new' && s !== 'assigned' && s !== 'reopened') refuse('start', s, 'a new, assigned or reopened order can be started');
      // Whoever starts an order nobody holds takes it.
      const take = o.assigneeUser === null && o.assigneeDept === null && actor.kind === 'user' ? { assignee_user: actor.id } : {};
      return { step: 'started', patch: { state: 'in_progress', ...take } };
    }
    case 'resolve':
      if (!isOpen(s)) refuse('resolve', s, 'an open order (new, assigned, in progress, reopened) can be resolved');
      return { step: 'resolved', patch: { state: 'resolved', resolved_at: now, deadline_at: null } };
    case 'close':
      if (s !== 'resolved') refuse('close', s, 'a resolved order can be closed');
      return { step: 'closed', patch: { state: 'closed', closed_at: now, deadline_at: null } };
    case 'reopen': {
      if (actor.kind === 'resident') {
        if (s !== 'resolved') refuse('reopen', s, 'a resolved order can be reopened by its resident');
        if (o.reopenCount >= 1) throw conflict('this order was reopened once already; a resident may reopen it only once');
      } else if (s !== 'resolved' && s !== 'closed') refuse('reopen', s, 'a resolved or closed order can be reopened');
      return { step: 'reopened', patch: reopened(o, actor, now, deadlineFor) };
    }
    case 'note':
      if (!isOpen(s)) refuse('add a note to', s, 'an open order (new, assigned, in progress, reopened) takes notes');
      return { step: 'note', patch: { state: s } };
    case 'escalate': {
      if (!isOpen(s)) refuse('escalate', s, 'an open order (new, assigned, in progress, reopened) can be escalated');
      if (change.fromTier !== undefined && change.fromTier !== o.tier) throw conflict(`this order is at the ${o.tier} tier now, not ${change.fromTier}: it was escalated already`);
      const next = ORDER_TIERS[ORDER_TIERS.indexOf(o.tier) + 1];
      if (!next) throw conflict('this order is at the street tier already: there is no tier above it');
      return { step: 'escalated', patch: { state: s, tier: next, tier_at: now, deadline_at: deadlineFor(o.category, next, now) } };
    }
    case 'rate': {
      if (s !== 'resolved') refuse('rate', s, 'a resolved order can be rated');
      if (change.rating !== 'unsatisfied') return { step: 'rated', patch: { state: 'closed', rating: change.rating, closed_at: now, deadline_at: null } };
      // 不满意: the resident's one reopen; after it (or from staff recording it) the rating stands and staff decide.
      if (actor.kind === 'resident' && o.reopenCount < 1) return { step: 'rated', patch: { ...reopened(o, actor, now, deadlineFor), rating: 'unsatisfied' } };
      return { step: 'rated', patch: { state: 'resolved', rating: 'unsatisfied' } };
    }
  }
}

function reopened(o: OrderFacts, actor: OrderActor, now: number, deadlineFor: DeadlineFor): OrderPatch {
  return {
    state: 'reopened',
    resolved_at: null,
    closed_at: null,
    deadline_at: deadlineFor(o.category, o.tier, now),
    ...(actor.kind === 'resident' ? { reopen_count: o.reopenCount + 1 } : {}),
  };
}

/** The changes an order in this state and tier allows (the screens' buttons); roles are checked by the API. */
export function allowedActions(state: OrderState, tier: OrderTier): OrderChange['action'][] {
  const open = isOpen(state);
  const out: OrderChange['action'][] = [];
  if (open) out.push('assign');
  if (state === 'new' || state === 'assigned' || state === 'reopened') out.push('start');
  if (open) out.push('resolve', 'note');
  if (open && tier !== 'street') out.push('escalate');
  if (state === 'resolved') out.push('close', 'rate');
  if (state === 'resolved' || state === 'closed') out.push('reopen');
  return out;
}
