import type { Logger } from 'pino';
import { Counter, Gauge, type Registry as MetricsRegistry } from 'prom-client';
import { OPEN_ORDER_STATES, type OrderTier, type WorkOrderView } from '../../protocol/work-orders.js';
import type { LivePayloads } from '../../protocol/live.js';
import { partitionOf } from '../cluster/partition.js';
import type { Ownership } from '../cluster/leases.js';
import { RbError } from '../errors.js';
import { maskPhone } from '../notify/render.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Role } from '../people/scopes.js';
import { nextTier } from './deadlines.js';
import { tierRecipients, type TierPeople } from './recipients.js';
import type { WorkOrders } from './types.js';

/**
 * The deadline sweep (issue 19 item 3, docs/work-orders.md "Deadlines and tiers"): like the alert
 * escalation, a timer over durable state. Every `orders.sweepEvery` it
 *
 * - moves each open order past its `deadline_at` one tier up (grid → community → street) through the
 *   work-order service (the next tier's deadline, a step `escalated` by `system`, its audit row and
 *   `order:update`), then sends an `order:notify` to each person the new tier reaches (recipients.ts);
 *   at the street an order past its deadline stays, overdue (counted by `rb_orders_overdue`);
 * - lets the whistles mark missed check-ins and tell their departments (whistle.ts).
 *
 * Everything it decides is in the tables, so a restart resumes where it was. In a cluster only the
 * node owning the estate's partition sweeps its orders, and each move is conditional on the tier the
 * sweep read: two sweepers (a lease hand-over) never move an order twice.
 */

type LivePush = {
  toEstate<K extends keyof LivePayloads>(estate: string, event: K, data: LivePayloads[K], at?: number): void;
  toUser<K extends keyof LivePayloads>(userId: string, role: Role, event: K, data: LivePayloads[K], at?: number): void;
};

export interface DeadlineSweepDeps {
  db: HubDatabase;
  orders: Pick<WorkOrders, 'change'>;
  everyMs: number;
  ownership: Pick<Ownership, 'owns'>;
  push: LivePush;
  people: TierPeople;
  /** Whistles: missed check-ins and the departments still to tell (whistle.ts). */
  whistles?: { sweep(now: number, owns: (estate: string) => boolean): Promise<unknown> };
  /** Off-screen too: queue the tier's people's notices in the notification outbox (hub/notify/order-notice.ts). */
  notifyTier?: (r: { orderId: string; estate: string; tier: OrderTier; userIds: readonly string[]; at: number }) => Promise<unknown>;
  metrics: MetricsRegistry;
  log: Logger;
  now?: () => number;
}

export interface SweepResult {
  escalated: number;
}

export interface DeadlineSweep {
  start(): void;
  stop(): Promise<void>;
  /** One pass now (the timer's work; tests call it after moving the clock). */
  sweep(): Promise<SweepResult>;
}

const BATCH = 200;

/** An order's view as live payloads carry it: the reporter's phone masked (once), whoever reads it. */
export const livePayload = (v: WorkOrderView): WorkOrderView => (v.phone && !v.phone.includes('*') ? { ...v, phone: maskPhone(v.phone) } : v);

export function createDeadlineSweep(deps: DeadlineSweepDeps): DeadlineSweep {
  const now = deps.now ?? (() => Date.now());
  const { db } = deps.db;
  const owns = (estate: string): boolean => deps.ownership.owns(partitionOf(estate));
  const escalatedTotal = new Counter({ name: 'rb_orders_escalated_total', help: 'Work orders moved one tier up because their deadline passed, by the tier they moved to', labelNames: ['tier'], registers: [deps.metrics] });
  new Gauge({
    name: 'rb_orders_overdue',
    help: 'Open work orders past their deadline now, by tier (at the street they stay overdue)',
    labelNames: ['tier'],
    registers: [deps.metrics],
    async collect() {
      const rows = await db
        .selectFrom('work_orders')
        .select(['tier', (eb) => eb.fn.countAll<number>().as('n')])
        .where('state', 'in', OPEN_ORDER_STATES)
        .where('deadline_at', '<', now())
        .groupBy('tier')
        .execute()
        .catch(() => []);
      this.reset();
      for (const r of rows) this.set({ tier: r.tier }, Number(r.n));
    },
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepResult> | null = null;
  let stopped = true;

  /**
   * Move one order up a tier through the work-order service (its step `escalated`, audit row and
   * `order:update`), only if it is still at the tier the sweep read (`fromTier`): a second sweeper, or
   * staff escalating meanwhile, gets RB_ERR_CONFLICT and nothing moves twice. Then tell the new tier.
   */
  async function escalate(o: { id: string; estate: string; tier: OrderTier }, at: number): Promise<boolean> {
    const to = nextTier(o.tier);
    if (!to) return false;
    const note = `超时未办结，升级至${to === 'community' ? '社区' : '街道'} · deadline passed, moved to the ${to}`;
    let view: WorkOrderView;
    try {
      view = await deps.orders.change(o.id, { action: 'escalate', note, fromTier: o.tier }, { kind: 'system' });
    } catch (err) {
      if (err instanceof RbError && (err.code === 'RB_ERR_CONFLICT' || err.code === 'RB_ERR_NOT_FOUND')) return false;
      throw err;
    }
    escalatedTotal.inc({ tier: to });
    const people = tierRecipients(deps.people, to, o.estate, at);
    const payload = livePayload(view);
    for (const u of people) deps.push.toUser(u.id, u.role, 'order:notify', { order: payload, tier: to, reason: 'escalated' }, at);
    // The move is committed; a notice that could not be queued is logged (the screens were told).
    await deps.notifyTier?.({ orderId: o.id, estate: o.estate, tier: to, userIds: people.map((u) => u.id), at }).catch((err: unknown) => deps.log.warn({ err, order: o.id, tier: to }, 'work-order notices not queued'));
    deps.log.info({ order: o.id, estate: o.estate, from: o.tier, to, deadlineAt: view.deadlineAt, notified: people.map((u) => u.name) }, 'work order past its deadline moved one tier up');
    return true;
  }

  async function escalateDue(at: number): Promise<number> {
    let n = 0;
    for (;;) {
      const due = await db
        .selectFrom('work_orders')
        .select(['id', 'estate', 'tier'])
        .where('state', 'in', OPEN_ORDER_STATES)
        .where('tier', 'in', ['grid', 'community'])
        .where('deadline_at', '<=', at)
        .orderBy('deadline_at')
        .limit(BATCH)
        .execute();
      const mine = due.filter((o) => owns(o.estate));
      let moved = 0;
      for (const o of mine) {
        try {
          if (await escalate(o, at)) moved++;
        } catch (err) {
          deps.log.warn({ err, order: o.id }, 'work order escalation failed; the next sweep tries again');
        }
      }
      n += moved;
      // A page moved entirely (each order now has a later deadline or the street): look again.
      if (due.length < BATCH || moved === 0) return n;
    }
  }

  async function pass(): Promise<SweepResult> {
    const at = now();
    const escalated = await escalateDue(at);
    await deps.whistles?.sweep(at, owns);
    return { escalated };
  }

  function sweep(): Promise<SweepResult> {
    // One pass at a time: a slow pass and the timer (or a test) never run side by side.
    const p = (running ?? Promise.resolve()).then(
      () => pass(),
      () => pass(),
    );
    running = p.finally(() => {
      if (running === p) running = null;
    }) as Promise<SweepResult>;
    return p;
  }

  function arm(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      sweep()
        .catch((err: unknown) => deps.log.error({ err }, 'work-order sweep failed'))
        .finally(arm);
    }, deps.everyMs);
    timer.unref();
  }

  return {
    start() {
      stopped = false;
      // At once: a hub that was down past deadlines catches up before its first interval.
      sweep()
        .catch((err: unknown) => deps.log.error({ err }, 'work-order sweep failed'))
        .finally(arm);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    sweep,
  };
}
