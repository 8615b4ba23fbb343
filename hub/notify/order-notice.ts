import type { WorkOrders } from '../orders/types.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { AlertFacts } from './dispatcher.js';
import type { Notifier } from './notifier.js';

/**
 * Work orders through the notification outbox (issue 19): an order that passed its deadline and moved
 * a tier up is told to the next level's people on their own routes (SMS, IM, Web Push), not only on
 * open screens. Its rows are keyed `order:<order id>:<tier>` (one per person and route and tier: a
 * second sweep queues nothing), at level 1 for the community and 2 for the street (level 0 would add
 * the estate's volunteer group robots). They carry no ack link and never escalate an alert.
 */
export const ORDER_PREFIX = 'order:';
const TIER_LEVEL = { grid: 0, community: 1, street: 2 } as const;
export type NoticeTier = keyof typeof TIER_LEVEL;

export const orderNoticeId = (orderId: string, tier: NoticeTier): string => `${ORDER_PREFIX}${orderId}:${tier}`;

/** Queue the tier's notices in a transaction of their own; wakes the dispatcher. Returns how many rows were queued. */
export async function queueOrderNotice(db: HubDatabase, notifier: Pick<Notifier, 'queue' | 'wake'>, r: { orderId: string; estate: string; tier: NoticeTier; userIds: readonly string[]; at: number }): Promise<number> {
  if (r.userIds.length === 0) return 0;
  const n = await db.transaction((trx) => notifier.queue(trx, { alertId: orderNoticeId(r.orderId, r.tier), estate: r.estate, severity: 2, level: TIER_LEVEL[r.tier], userIds: r.userIds, at: r.at }));
  if (n > 0) notifier.wake();
  return n;
}

/** What the dispatcher renders for an order's row; `resolved` once nobody needs telling (the order was resolved or closed meanwhile). */
export async function orderFacts(orders: Pick<WorkOrders, 'get'>, id: string): Promise<AlertFacts | undefined> {
  const [orderId, tier] = id.slice(ORDER_PREFIX.length).split(':');
  if (!orderId || !tier || !(tier in TIER_LEVEL)) return undefined;
  const o = await orders.get(orderId);
  if (!o) return undefined;
  const open = o.state !== 'resolved' && o.state !== 'closed';
  return {
    id,
    rule: 'order.escalated',
    severity: 2,
    estate: o.estate,
    ...(o.estateName ? { estateName: o.estateName } : {}),
    device: o.no,
    deviceName: `${o.no} ${o.title}`,
    openedAt: o.createdAt,
    state: open ? 'open' : 'resolved',
    level: TIER_LEVEL[tier as NoticeTier],
  };
}
