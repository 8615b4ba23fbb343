import type { OrderAction, OrderCategory, OrderRating, OrderSource, OrderState, OrderTier } from '../../../protocol/work-orders.js';

/**
 * Work orders (issue 19, migration `0015_work_orders`, docs/work-orders.md "Tables"): one row per order,
 * its history (steps), the photos of its steps, and the per-day counter behind the human number.
 */
export interface WorkOrdersTable {
  id: string;
  /** `GD` + local date + `-` + the day's counter, e.g. `GD20261207-0003`. */
  no: string;
  estate: string;
  source: OrderSource;
  category: OrderCategory;
  tier: OrderTier;
  state: OrderState;
  title: string;
  description: string;
  building: string | null;
  unit: string | null;
  /** Full; masked in every view (hub/orders/view.ts). */
  phone: string | null;
  /** A 12345 order's number at the city: unique when not NULL. */
  external_no: string | null;
  alert_id: string | null;
  assignee_user: string | null;
  assignee_dept: string | null;
  created_at: number;
  updated_at: number;
  /** When the order entered its current tier. */
  tier_at: number;
  /** NULL once resolved or closed. */
  deadline_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  rating: OrderRating | null;
  /** Reopens by the resident (through the follow link): at most one. */
  reopen_count: number;
  /** sha256 (hex) of the resident's follow token. */
  follow_hash: string | null;
}

export interface WorkOrderStepsTable {
  id: string;
  order_id: string;
  at: number;
  action: OrderAction;
  /** `user:<id>`, `resident`, `department:<id>`, `system`. */
  actor: string;
  from_state: OrderState | null;
  to_state: OrderState | null;
  tier: OrderTier | null;
  note: string | null;
}

export interface WorkOrderPhotosTable {
  id: string;
  order_id: string;
  step_id: string;
  content_type: string;
  bytes: number;
  data: Buffer;
  created_at: number;
}

export interface OrderCountersTable {
  /** e.g. `GD20261207`. */
  scope: string;
  value: number;
}

export interface OrdersSchema {
  work_orders: WorkOrdersTable;
  work_order_steps: WorkOrderStepsTable;
  work_order_photos: WorkOrderPhotosTable;
  order_counters: OrderCountersTable;
}
