import { sql } from 'kysely';
import type { Step } from './index.js';

/**
 * Whistle and report (吹哨报到, issue 19, docs/work-orders.md), an entry of THE ordered list in
 * index.ts (which spreads it in place, after the work-order tables). Append only, as there.
 */
export const WHISTLE_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0016_order_whistles',
    async (db) => {
      await db.schema
        .createTable('order_whistles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('department', 'text', (c) => c.notNull())
        .addColumn('whistled_by', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('whistled_at', 'bigint', (c) => c.notNull())
        .addColumn('check_in_by', 'bigint', (c) => c.notNull())
        .addColumn('report_by', 'bigint', (c) => c.notNull())
        .addColumn('checked_in_at', 'bigint')
        .addColumn('reported_at', 'bigint')
        .addColumn('report', 'text')
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('missed_at', 'bigint')
        .addColumn('notify_state', 'text', (c) => c.notNull().check(sql`notify_state IN ('none', 'pending', 'sent', 'failed')`))
        .addColumn('notify_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('notify_next_at', 'bigint')
        .addColumn('notify_error', 'text')
        .execute();
      await db.schema.createIndex('order_whistles_order').on('order_whistles').columns(['order_id', 'whistled_at']).execute();
      // The sweep's two looks: whistles whose check-in time passed unseen, and contacts still to tell.
      await db.schema.createIndex('order_whistles_check_in').on('order_whistles').columns(['missed_at', 'checked_in_at', 'check_in_by']).execute();
      await db.schema.createIndex('order_whistles_notify').on('order_whistles').columns(['notify_state', 'notify_next_at']).execute();
    },
  ],
];
