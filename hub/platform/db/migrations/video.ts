import type { Step } from './index.js';

/**
 * Live video across hub nodes (issue 20, docs/video.md "Cluster"): entries of THE ordered list in
 * index.ts (which spreads them in place). Append only, as there.
 */
export const VIDEO_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0020_video_relays',
    async (db) => {
      // Which node holds each gateway's relay WebSocket (hub/video/relays.ts): one row per gateway,
      // taken over by a newer link on any node, renewed by its node every third of the TTL, ignored
      // once `expires_at` (database clock on PostgreSQL, ms) has passed: a dead node's rows lapse.
      await db.schema
        .createTable('video_relays')
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('link_id', 'text', (c) => c.notNull())
        .addColumn('hello', 'text')
        .addColumn('since', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('video_relays_pk', ['estate', 'gateway'])
        .execute();
      await db.schema.createIndex('video_relays_node').on('video_relays').column('node_id').execute();
    },
  ],
];
