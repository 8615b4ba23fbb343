import { OPEN_ORDER_STATES, type OrderStepView, type WorkOrderView } from '../../protocol/work-orders.js';
import type { NameOf } from '../alerts/view.js';
import { maskPhone } from '../notify/render.js';
import type { OrderRow, PhotoMeta, StepRow } from './store.js';

/**
 * Rows → the views every screen, the live push and the other parts read (protocol/work-orders.ts):
 * names instead of ids, the phone number always masked (138****5678; the full number only through the
 * audited `GET /work-orders/:id/phone`), and no secret (the follow hash never leaves the hub).
 */

export { maskPhone };

export const photoUrl = (order: string, photo: string): string => `/api/v1/work-orders/${encodeURIComponent(order)}/photos/${encodeURIComponent(photo)}`;

export function orderView(r: OrderRow, opts: { nameOf?: NameOf | undefined; now: number; steps?: { steps: StepRow[]; photos: PhotoMeta[] } }): WorkOrderView {
  const { nameOf, now } = opts;
  const view: WorkOrderView = {
    id: r.id,
    no: r.no,
    estate: r.estate,
    estateName: nameOf?.estate?.(r.estate) ?? null,
    source: r.source,
    category: r.category,
    tier: r.tier,
    state: r.state,
    title: r.title,
    description: r.description,
    building: r.building,
    unit: r.unit,
    phone: r.phone === null ? null : maskPhone(r.phone),
    externalNo: r.external_no,
    alertId: r.alert_id,
    assigneeUser: r.assignee_user,
    assigneeName: r.assignee_user === null ? null : (nameOf?.(`user:${r.assignee_user}`) ?? null),
    assigneeDept: r.assignee_dept,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deadlineAt: r.deadline_at,
    overdue: r.deadline_at !== null && OPEN_ORDER_STATES.includes(r.state) && now > r.deadline_at,
    resolvedAt: r.resolved_at,
    closedAt: r.closed_at,
    rating: r.rating,
    reopenCount: r.reopen_count,
  };
  if (opts.steps) view.steps = stepViews(r.id, opts.steps, nameOf);
  return view;
}

export function stepViews(order: string, { steps, photos }: { steps: StepRow[]; photos: PhotoMeta[] }, nameOf?: NameOf): OrderStepView[] {
  const byStep = new Map<string, PhotoMeta[]>();
  for (const p of photos) byStep.set(p.step_id, [...(byStep.get(p.step_id) ?? []), p]);
  return steps.map((s) => ({
    id: s.id,
    at: s.at,
    action: s.action,
    actor: s.actor,
    actorName: nameOf?.(s.actor) ?? null,
    fromState: s.from_state,
    toState: s.to_state,
    tier: s.tier,
    note: s.note,
    photos: (byStep.get(s.id) ?? []).map((p) => ({ id: p.id, url: photoUrl(order, p.id), contentType: p.content_type, bytes: p.bytes })),
  }));
}
