import type { Exec } from '../notify/outbox.js';
import type { OrderBacklog, OrderCategory, OrderRating, OrderSource, OrderState, OrderTier, WorkOrderView } from '../../protocol/work-orders.js';

/**
 * The work-order service's contract (issue 19, docs/work-orders.md). hub/orders/service.ts implements
 * it; the resident page (hub/residents), patrol rounds (hub/patrol), deadlines and whistles, the REST API
 * and the figures call only this.
 */

/** hub/push's outbox of a transaction (`LiveOutbox`), as far as orders use it. */
export interface TransactionOutbox {
  toEstate(estate: string, event: 'order:new' | 'order:update', data: WorkOrderView, at?: number): Promise<unknown>;
}

/** Who does something: a signed-in user, the resident (through the follow link), a department (whistle link), or the hub. */
export type OrderActor = { kind: 'user'; id: string } | { kind: 'resident' } | { kind: 'department'; id: string } | { kind: 'system' };

/** A photo after hub/orders/images.ts: re-encoded JPEG, metadata (EXIF, GPS) stripped. */
export interface StoredPhotoInput {
  contentType: 'image/jpeg';
  data: Buffer;
}

export interface NewOrder {
  estate: string;
  source: OrderSource;
  category: OrderCategory;
  /** Short line for lists; defaults to the category's label and the first words of the description. */
  title?: string;
  description: string;
  building?: string;
  unit?: string;
  phone?: string;
  /** A 12345 order's number at the city: creating the same one again returns the existing order (`created: false`). */
  externalNo?: string;
  alertId?: string;
  /** Starting tier (default grid). */
  tier?: OrderTier;
  photos?: StoredPhotoInput[];
  /** When it happened, if not now (imports). */
  createdAt?: number;
}

export interface CreatedOrder {
  order: WorkOrderView;
  created: boolean;
  /** Only for source `resident`, only at creation: the secret of the follow link (stored hashed). */
  followToken?: string;
}

export type OrderChange =
  | { action: 'assign'; user?: string; department?: string; note?: string; photos?: StoredPhotoInput[] }
  | { action: 'start'; note?: string; photos?: StoredPhotoInput[] }
  | { action: 'resolve'; note?: string; photos?: StoredPhotoInput[] }
  | { action: 'close'; note?: string }
  | { action: 'reopen'; note?: string }
  | { action: 'note'; note: string; photos?: StoredPhotoInput[] }
  | { action: 'rate'; rating: OrderRating; note?: string }
  /** `fromTier`: escalate only if the order is still in this tier (a deadline sweep on stale data, or two nodes sweeping, must not skip a tier): else RB_ERR_CONFLICT. */
  | { action: 'escalate'; note?: string; fromTier?: OrderTier };

export interface OrderQuery {
  estates?: readonly string[];
  states?: readonly OrderState[];
  tier?: OrderTier;
  source?: OrderSource;
  category?: OrderCategory;
  overdue?: boolean;
  /** Only orders assigned to this user id (the phone view's "mine"). */
  assigneeUser?: string;
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface WorkOrders {
  /**
   * `trx`: write in the caller's transaction. `out`: push's outbox of that same transaction
   * (`push.transaction((trx, out) => …)`), so `order:new` is sent only after the caller's COMMIT; without
   * it the message is logged by push's own writer and may reach screens before the caller commits.
   */
  create(input: NewOrder, actor: OrderActor, opts?: { trx?: Exec; out?: TransactionOutbox }): Promise<CreatedOrder>;
  /** Apply a change: checks the transition, writes the step, its audit row and its push in one transaction. Throws RbError RB_ERR_CONFLICT for a transition the state does not allow. */
  change(id: string, change: OrderChange, actor: OrderActor): Promise<WorkOrderView>;
  get(id: string, opts?: { steps?: boolean }): Promise<WorkOrderView | undefined>;
  /** By the follow link's secret (the resident's page). */
  byFollowToken(token: string): Promise<WorkOrderView | undefined>;
  list(q: OrderQuery): Promise<{ items: WorkOrderView[]; nextCursor?: string }>;
  photo(orderId: string, photoId: string): Promise<{ contentType: string; data: Buffer } | undefined>;
  /** Live: called after every committed create or change (push, facts, notifications subscribe here). */
  onChange(listener: (order: WorkOrderView, action: string) => void): () => void;
  /** Per estate (these, or every estate with an order when undefined): open, overdue now, open by tier. */
  backlog(estates?: readonly string[]): Promise<OrderBacklog[]>;
}
