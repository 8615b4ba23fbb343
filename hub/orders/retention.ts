import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log.js';
import { OPEN_ORDER_STATES } from '../../protocol/work-orders.js';
import { startPeriodic } from '../../lib/periodic.js';
import type { Schema } from '../platform/db/schema.js';

/**
 * Privacy (issue 19 build 8, docs/work-orders.md "Retention"): closed orders, with their steps,
 * photos (and whistles), are deleted once closed for longer than `orders.retention` (default 730
 * days); so are photos older than that of orders that are not open (resolved, or closed more recently). Open
 * orders are never touched, however old. Bounded batches, one transaction each, until nothing is
 * left or `maxBatches` ran (the next run goes on); counted as `rb_orders_retention_deleted_total`.
 * Idempotent: two hub nodes running it at once delete each row once.
 */
export interface OrderRetentionOptions {
  db: Kysely<Schema>;
  /** Kept this long after closing (photos: after taking), ms. */
  retentionMs: number;
  registry: Registry;
  logger: Logger;
  now?: () => number;
  /** Orders (or photos) per batch (default 200). */
  batch?: number;
  /** Batches per run (default 50). */
  maxBatches?: number;
  /** How often it runs (default hourly). */
  everyMs?: number;
}

export interface OrderRetention {
  /** One run now (or the one in progress): what it deleted. */
  run(): Promise<{ orders: number; photos: number }>;
  stop(): Promise<void>;
}

type Db = Kysely<Schema>;

/** Delete one batch of closed orders closed before `cutoff`, children first. Returns how many orders and photos. */
export async function deleteClosedBatch(db: Db, cutoff: number, batch: number): Promise<{ orders: number; photos: number }> {
  return db.transaction().execute(async (trx) => {
    const ids = (
      await trx.selectFrom('work_orders').select('id').where('state', '=', 'closed').where('closed_at', '<', cutoff).orderBy('closed_at').limit(batch).execute()
    ).map((r) => r.id);
    if (ids.length === 0) return { orders: 0, photos: 0 };
    const photos = await trx.deleteFrom('work_order_photos').where('order_id', 'in', ids).executeTakeFirst();
    // Whistles have no foreign key to their order (and steps and photos cascade only where the engine enforces it).
    await trx.deleteFrom('order_whistles').where('order_id', 'in', ids).execute();
    await trx.deleteFrom('work_order_steps').where('order_id', 'in', ids).execute();
    const orders = await trx.deleteFrom('work_orders').where('id', 'in', ids).where('state', '=', 'closed').executeTakeFirst();
    return { orders: Number(orders.numDeletedRows), photos: Number(photos.numDeletedRows) };
  });
}

/** Delete one batch of photos taken before `cutoff` whose order is not open (resolved, or closed and not due itself yet). */
export async function deleteOldPhotosBatch(db: Db, cutoff: number, batch: number): Promise<number> {
  const ids = (
    await db
      .selectFrom('work_order_photos')
      .select('id')
      .where('created_at', '<', cutoff)
      .where('order_id', 'in', (eb) => eb.selectFrom('work_orders').select('id').where('state', 'not in', [...OPEN_ORDER_STATES]))
      .limit(batch)
      .execute()
  ).map((r) => r.id);
  if (ids.length === 0) return 0;
  const res = await db.deleteFrom('work_order_photos').where('id', 'in', ids).executeTakeFirst();
  return Number(res.numDeletedRows);
}

export function startOrderRetention(o: OrderRetentionOptions): OrderRetention {
  const deleted = new Counter({ name: 'rb_orders_retention_deleted_total', help: 'Work orders and photos deleted by orders.retention', labelNames: ['what'] as const, registers: [o.registry] });
  deleted.inc({ what: 'orders' }, 0);
  deleted.inc({ what: 'photos' }, 0);
  const now = o.now ?? Date.now;
  const batch = o.batch ?? 200;
  const maxBatches = o.maxBatches ?? 50;
  const once = async (): Promise<{ orders: number; photos: number }> => {
    const cutoff = now() - o.retentionMs;
    const total = { orders: 0, photos: 0 };
    for (let i = 0; i < maxBatches; i++) {
      const r = await deleteClosedBatch(o.db, cutoff, batch);
      total.orders += r.orders;
      total.photos += r.photos;
      deleted.inc({ what: 'orders' }, r.orders);
      deleted.inc({ what: 'photos' }, r.photos);
      if (r.orders < batch) break;
    }
    for (let i = 0; i < maxBatches; i++) {
      const n = await deleteOldPhotosBatch(o.db, cutoff, batch);
      total.photos += n;
      deleted.inc({ what: 'photos' }, n);
      if (n < batch) break;
    }
    if (total.orders + total.photos > 0) o.logger.info({ ...total, cutoff }, 'work orders past orders.retention deleted');
    return total;
  };
  const guarded = (): Promise<{ orders: number; photos: number }> =>
    once().catch((err: unknown) => {
      o.logger.warn({ err }, 'work-order retention failed');
      return { orders: 0, photos: 0 };
    });
  return startPeriodic(guarded, o.everyMs ?? 3_600_000);
}
