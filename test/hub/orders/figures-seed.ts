import type { HubDatabase } from '../../../hub/platform/db/index.js';
import { zonedInstant } from '../../../lib/zoned.js';

/**
 * Work orders written straight into the documented tables (docs/work-orders.md, "Tables") with known
 * times, so the figures have known answers. Times are local (Asia/Shanghai) in 2026.
 */
export const TZ = 'Asia/Shanghai';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Local time in 2026 (month 1–12). */
export const at = (month: number, day: number, hour = 10, minute = 0): number => zonedInstant(2026, month, day, hour * 60 + minute, TZ);

export interface SeedOrder {
  id: string;
  estate: string;
  category: string;
  source: string;
  state: string;
  createdAt: number;
  resolvedAt?: number;
  closedAt?: number;
  rating?: string;
  /** When the resident rated it (default: half an hour after resolution). */
  ratedAt?: number;
  /** Steps `escalated` by these actors (`system`: the deadline ran out). */
  escalatedBy?: string[];
  photos?: number[];
  /** Departments whistled on the order (`order_whistles`). */
  whistles?: Array<{ at: number; checkInBy: number; checkedInAt?: number; missedAt?: number }>;
}

let n = 0;
export async function seedOrders(hubDb: HubDatabase, orders: readonly SeedOrder[]): Promise<void> {
  for (const o of orders) {
    n += 1;
    await hubDb.db
      .insertInto('work_orders')
      .values({
        id: o.id,
        no: `GD-TEST-${n}-${o.id}`,
        estate: o.estate,
        source: o.source,
        category: o.category,
        tier: 'grid',
        state: o.state,
        title: `<script>alert('${o.id}')</script>`,
        description: 'a resident\'s text, with "quotes" | pipes and\nnewlines',
        building: '3',
        unit: '2',
        phone: '13800005678',
        external_no: o.source === 'hotline' ? `12345-${o.id}` : null,
        alert_id: null,
        assignee_user: null,
        assignee_dept: null,
        created_at: o.createdAt,
        updated_at: o.closedAt ?? o.resolvedAt ?? o.createdAt,
        tier_at: o.createdAt,
        deadline_at: o.resolvedAt ? null : o.createdAt + DAY,
        resolved_at: o.resolvedAt ?? null,
        closed_at: o.closedAt ?? null,
        rating: o.rating ?? null,
        reopen_count: 0,
        follow_hash: null,
      } as never)
      .execute();
    const steps: Array<{ action: string; actor: string; at: number }> = [{ action: 'created', actor: 'resident', at: o.createdAt }];
    for (const actor of o.escalatedBy ?? []) steps.push({ action: 'escalated', actor, at: o.createdAt + HOUR / 2 });
    if (o.resolvedAt) steps.push({ action: 'resolved', actor: 'user:u1', at: o.resolvedAt });
    if (o.resolvedAt && o.rating) steps.push({ action: 'rated', actor: 'resident', at: o.ratedAt ?? o.resolvedAt + HOUR / 2 });
    if (o.closedAt) steps.push({ action: 'closed', actor: 'system', at: o.closedAt });
    for (const [i, s] of steps.entries()) {
      await hubDb.db
        .insertInto('work_order_steps')
        .values({ id: `${o.id}-s${i}`, order_id: o.id, at: s.at, action: s.action, actor: s.actor, from_state: null, to_state: null, tier: 'grid', note: null } as never)
        .execute();
    }
    for (const [i, w] of (o.whistles ?? []).entries()) {
      await hubDb.db
        .insertInto('order_whistles')
        .values({
          id: `${o.id}-w${i}`,
          order_id: o.id,
          estate: o.estate,
          department: 'chengguan',
          whistled_by: 'user:u1',
          note: null,
          whistled_at: w.at,
          check_in_by: w.checkInBy,
          report_by: w.checkInBy + DAY,
          checked_in_at: w.checkedInAt ?? null,
          reported_at: null,
          report: null,
          token_hash: `hash-${o.id}-${i}`,
          missed_at: w.missedAt ?? null,
          notify_state: 'none',
          notify_attempts: 0,
          notify_next_at: null,
          notify_error: null,
        } as never)
        .execute();
    }
    for (const [i, takenAt] of (o.photos ?? []).entries()) {
      await hubDb.db
        .insertInto('work_order_photos')
        .values({ id: `${o.id}-p${i}`, order_id: o.id, step_id: `${o.id}-s0`, content_type: 'image/jpeg', bytes: 3, data: Buffer.from([0xff, 0xd8, 0xff]), created_at: takenAt } as never)
        .execute();
    }
  }
}
