import { sql, type Kysely, type Selectable } from 'kysely';
import { monotonicFactory } from 'ulid';
import { OPEN_ORDER_STATES, ORDER_TIERS, type OrderBacklog, type OrderCategory, type OrderSource, type OrderState, type OrderTier } from '../../protocol/work-orders.js';
import { RbError } from '../errors.js';
import type { Schema } from '../platform/db/index.js';
import type { WorkOrderPhotosTable, WorkOrderStepsTable, WorkOrdersTable } from '../platform/db/schema-orders.js';
import type { OrderPatch } from './transitions.js';
import type { StoredPhotoInput } from './types.js';

/**
 * The work-order rows of the hub database (migration `0015_work_orders`): the same kysely queries on
 * SQLite and PostgreSQL, every one parameterised. Each function takes the executor to run in (the
 * service's transaction, or the database itself for reads).
 */
export type Exec = Kysely<Schema>;
export type OrderRow = Selectable<WorkOrdersTable>;
export type StepRow = Selectable<WorkOrderStepsTable>;
export type PhotoMeta = Omit<Selectable<WorkOrderPhotosTable>, 'data'>;

const newId = monotonicFactory();
export const orderId = (): string => newId();

/**
 * The next value of a counter (`GD20261207` → 1, 2, …), atomic on both engines: one upsert that
 * returns the row it wrote. On PostgreSQL the row stays locked until the caller's COMMIT, so two nodes
 * creating orders the same day take turns instead of drawing the same number.
 */
export async function nextCounter(exec: Exec, scope: string): Promise<number> {
  const row = await exec
    .insertInto('order_counters')
    .values({ scope, value: 1 })
    .onConflict((oc) => oc.column('scope').doUpdateSet({ value: sql<number>`order_counters.value + 1` }))
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

export async function insertOrder(exec: Exec, row: OrderRow): Promise<void> {
  await exec.insertInto('work_orders').values(row).execute();
}

export async function insertStep(exec: Exec, step: StepRow): Promise<void> {
  await exec.insertInto('work_order_steps').values(step).execute();
}

export async function insertPhotos(exec: Exec, order: string, step: string, photos: readonly StoredPhotoInput[], at: number): Promise<void> {
  for (const p of photos) {
    await exec.insertInto('work_order_photos').values({ id: newId(), order_id: order, step_id: step, content_type: p.contentType, bytes: p.data.length, data: p.data, created_at: at }).execute();
  }
}

export const getOrder = (exec: Exec, id: string): Promise<OrderRow | undefined> => exec.selectFrom('work_orders').selectAll().where('id', '=', id).executeTakeFirst();
export const byExternalNo = (exec: Exec, no: string): Promise<OrderRow | undefined> => exec.selectFrom('work_orders').selectAll().where('external_no', '=', no).executeTakeFirst();
export const byFollowHash = (exec: Exec, hash: string): Promise<OrderRow | undefined> => exec.selectFrom('work_orders').selectAll().where('follow_hash', '=', hash).executeTakeFirst();
export const byAlert = (exec: Exec, alertId: string): Promise<OrderRow | undefined> =>
  exec.selectFrom('work_orders').selectAll().where('alert_id', '=', alertId).orderBy('created_at', 'asc').executeTakeFirst();

/**
 * Apply a transition's patch, only if the order is still as it was read (state and updated_at): a
 * change that raced another one (two volunteers pressing at once, two hub nodes) is refused with
 * RB_ERR_CONFLICT instead of overwriting it.
 */
export async function updateOrder(exec: Exec, before: OrderRow, patch: OrderPatch, at: number): Promise<OrderRow> {
  const updatedAt = Math.max(at, before.updated_at + 1);
  const r = await exec
    .updateTable('work_orders')
    .set({ ...patch, updated_at: updatedAt })
    .where('id', '=', before.id)
    .where('state', '=', before.state)
    .where('updated_at', '=', before.updated_at)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new RbError('RB_ERR_CONFLICT', `order ${before.no} was changed by someone else meanwhile; reload it and try again`);
  return { ...before, ...patch, updated_at: updatedAt };
}

/** A step that changes nothing but the history (a whistle's check-in): the order's updated_at moves on, unconditionally. */
export async function touchOrder(exec: Exec, id: string, at: number): Promise<OrderRow | undefined> {
  const before = await getOrder(exec, id);
  if (!before) return undefined;
  const updatedAt = Math.max(at, before.updated_at + 1);
  await exec.updateTable('work_orders').set({ updated_at: updatedAt }).where('id', '=', id).execute();
  return { ...before, updated_at: updatedAt };
}

export async function stepsOf(exec: Exec, order: string): Promise<{ steps: StepRow[]; photos: PhotoMeta[] }> {
  const steps = await exec.selectFrom('work_order_steps').selectAll().where('order_id', '=', order).orderBy('at', 'asc').orderBy('id', 'asc').execute();
  const photos = await exec
    .selectFrom('work_order_photos')
    .select(['id', 'order_id', 'step_id', 'content_type', 'bytes', 'created_at'])
    .where('order_id', '=', order)
    .orderBy('id', 'asc')
    .execute();
  return { steps, photos };
}

export async function photoOf(exec: Exec, order: string, photo: string): Promise<{ contentType: string; data: Buffer } | undefined> {
  const r = await exec.selectFrom('work_order_photos').select(['content_type', 'data']).where('id', '=', photo).where('order_id', '=', order).executeTakeFirst();
  return r ? { contentType: r.content_type, data: Buffer.from(r.data) } : undefined;
}

export interface ListFilter {
  estates?: readonly string[] | undefined;
  states?: readonly OrderState[] | undefined;
  tier?: OrderTier | undefined;
  source?: OrderSource | undefined;
  category?: OrderCategory | undefined;
  /** Open and past its deadline at `now`. */
  overdue?: boolean | undefined;
  assigneeUser?: string | undefined;
  now: number;
  /** Rows older than this (created_at, then id): the page after it. */
  after?: { createdAt: number; id: string } | undefined;
  limit: number;
}

/** Newest first (created_at, then id); `limit` rows at most. */
export async function listOrders(exec: Exec, f: ListFilter): Promise<OrderRow[]> {
  // A scope of no estate reads nothing (and `IN ()` is no SQL either engine takes).
  if (f.estates && f.estates.length === 0) return [];
  if (f.states && f.states.length === 0) return [];
  let q = exec.selectFrom('work_orders').selectAll();
  if (f.estates) q = q.where('estate', 'in', [...f.estates]);
  if (f.states) q = q.where('state', 'in', [...f.states]);
  if (f.tier) q = q.where('tier', '=', f.tier);
  if (f.source) q = q.where('source', '=', f.source);
  if (f.category) q = q.where('category', '=', f.category);
  if (f.assigneeUser !== undefined) q = q.where('assignee_user', '=', f.assigneeUser);
  if (f.overdue === true) q = q.where('state', 'in', [...OPEN_ORDER_STATES]).where('deadline_at', '<', f.now);
  if (f.overdue === false) q = q.where((eb) => eb.or([eb('deadline_at', 'is', null), eb('deadline_at', '>=', f.now), eb('state', 'not in', [...OPEN_ORDER_STATES])]));
  const after = f.after;
  if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
}

/** Per estate: open orders, how many are overdue at `now`, and open ones by tier. Estates without an open order are listed with zeros. */
export async function backlog(exec: Exec, estates: readonly string[] | undefined, now: number): Promise<OrderBacklog[]> {
  if (estates && estates.length === 0) return [];
  let q = exec
    .selectFrom('work_orders')
    .select((eb) => ['estate', 'tier', eb.fn.countAll<number>().as('open'), eb.fn.sum<number>(eb.case().when('deadline_at', '<', now).then(1).else(0).end()).as('overdue')])
    .where('state', 'in', [...OPEN_ORDER_STATES]);
  if (estates) q = q.where('estate', 'in', [...estates]);
  const rows = await q.groupBy(['estate', 'tier']).execute();
  const out = new Map<string, OrderBacklog>();
  const line = (estate: string): OrderBacklog => {
    let b = out.get(estate);
    if (!b) out.set(estate, (b = { estate, open: 0, overdue: 0, byTier: Object.fromEntries(ORDER_TIERS.map((t) => [t, 0])) as Record<OrderTier, number> }));
    return b;
  };
  for (const e of estates ?? []) line(e);
  for (const r of rows) {
    const b = line(r.estate);
    b.open += Number(r.open);
    b.overdue += Number(r.overdue ?? 0);
    b.byTier[r.tier] += Number(r.open);
  }
  return [...out.values()].sort((a, b) => (a.estate < b.estate ? -1 : a.estate > b.estate ? 1 : 0));
}
