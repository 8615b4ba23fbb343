import { sql } from 'kysely';
import type { Step } from './index.js';

/**
 * Work orders (issue 19, docs/work-orders.md "Tables"), entry 0015 of THE ordered list in
 * index.ts (which spreads it in place). Append only, as there.
 */
export const ORDERS_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0015_work_orders',
    async (db, dialect) => {
      await db.schema
        .createTable('work_orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('no', 'text', (c) => c.notNull().unique())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull().check(sql`source IN ('resident', 'alert', 'phone', 'hotline', 'staff')`))
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull().check(sql`tier IN ('grid', 'community', 'street')`))
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('new', 'assigned', 'in_progress', 'resolved', 'closed', 'reopened')`))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('building', 'text')
        .addColumn('unit', 'text')
        .addColumn('phone', 'text')
        .addColumn('external_no', 'text')
        .addColumn('alert_id', 'text')
        .addColumn('assignee_user', 'text')
        .addColumn('assignee_dept', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('tier_at', 'bigint', (c) => c.notNull())
        .addColumn('deadline_at', 'bigint')
        .addColumn('resolved_at', 'bigint')
        .addColumn('closed_at', 'bigint')
        .addColumn('rating', 'text')
        .addColumn('reopen_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('follow_hash', 'text')
        .execute();
      // NULLs never collide in a UNIQUE index (both engines): only 12345 orders carry an external_no,
      // and only residents' orders a follow hash.
      await db.schema.createIndex('work_orders_external_no').on('work_orders').column('external_no').unique().execute();
      await db.schema.createIndex('work_orders_follow_hash').on('work_orders').column('follow_hash').unique().execute();
      await db.schema.createIndex('work_orders_estate_state').on('work_orders').columns(['estate', 'state']).execute();
      await db.schema.createIndex('work_orders_state_deadline').on('work_orders').columns(['state', 'deadline_at']).execute();
      // Lists: newest first, per estate (the cursor is created_at, id).
      await db.schema.createIndex('work_orders_estate_created').on('work_orders').columns(['estate', 'created_at', 'id']).execute();
      await db.schema.createIndex('work_orders_alert').on('work_orders').column('alert_id').execute();
      await db.schema
        .createTable('work_order_steps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull().references('work_orders.id').onDelete('cascade'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('from_state', 'text')
        .addColumn('to_state', 'text')
        .addColumn('tier', 'text')
        .addColumn('note', 'text')
        .execute();
      await db.schema.createIndex('work_order_steps_order').on('work_order_steps').columns(['order_id', 'at']).execute();
      await db.schema
        .createTable('work_order_photos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull().references('work_orders.id').onDelete('cascade'))
        .addColumn('step_id', 'text', (c) => c.notNull().references('work_order_steps.id').onDelete('cascade'))
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('data', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('work_order_photos_order').on('work_order_photos').column('order_id').execute();
      // JPEGs do not compress: out of line without trying pglz first (as snapshot_blobs).
      if (dialect === 'postgres') await sql`ALTER TABLE work_order_photos ALTER COLUMN data SET STORAGE EXTERNAL`.execute(db);
      await db.schema
        .createTable('order_counters')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
    },
  ],
];
