import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { HubDatabase } from './open.js';
import type { Schema } from './schema.js';

const BATCH = 500;

export interface LegacyEventsImport {
  events: number;
  snapshotLinks: number;
  dedupIds: number;
}

/**
 * Upgrade (issue 16, items 2 and 8): the files of a release that kept the embedded event store,
 * the snapshot links and the dedup window apart are copied into the hub database once, each in one
 * transaction and only while its target table is empty, then renamed `*.migrated` (kept):
 *
 * - `events.db` → `events` (only when the embedded store is in use, `opts.events`; with InfluxDB the
 *   file is left alone);
 * - `snapshots.db` → `snapshot_links` (the JPEG files stay where they are);
 * - `dedup.db` → its ids become keys of the event log (kind `seen`: never delivered), so a gateway
 *   that re-sends an event it sent before the upgrade (it never got the PUBACK) is still a
 *   duplicate. The log's retention prunes them like any entry.
 *
 * A crash between a commit and its rename leaves the file; the next start finds the table
 * non-empty, logs a warning and leaves the file in place (nothing is copied twice).
 */
export async function importLegacyEvents(hubDb: HubDatabase, dataDir: string, log: Logger, opts: { events: boolean }): Promise<LegacyEventsImport> {
  const out: LegacyEventsImport = { events: 0, snapshotLinks: 0, dedupIds: 0 };
  const { db } = hubDb;

  async function importFile<R extends object>(
    name: string,
    table: 'events' | 'snapshot_links' | 'event_log',
    select: string,
    copy: (trx: Transaction<Schema>, rows: R[]) => Promise<void>,
  ): Promise<number> {
    const file = join(dataDir, name);
    if (!existsSync(file)) return 0;
    const existing = await db.selectFrom(table).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow();
    if (Number(existing.n) > 0) {
      log.warn({ file, table }, `${name} left in place: the hub database already has rows in ${table}`);
      return 0;
    }
    // Opened read-write, not read-only: closing it checkpoints its WAL into the file, so the renamed
    // file is whole by itself.
    const old = new Database(file, { fileMustExist: true });
    let n = 0;
    try {
      const hasTable = old.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?");
      const source = select.match(/FROM (\w+)/)![1]!;
      if (hasTable.get(source)!.n > 0) {
        const rows = old.prepare<[], R>(select).iterate();
        await hubDb.transaction(async (trx) => {
          let chunk: R[] = [];
          for (const row of rows) {
            chunk.push(row);
            if (chunk.length === BATCH) {
              await copy(trx, chunk);
              n += chunk.length;
              chunk = [];
            }
          }
          if (chunk.length) await copy(trx, chunk);
          n += chunk.length;
        });
      }
    } finally {
      old.close();
    }
    renameSync(file, `${file}.migrated`);
    log.info({ from: file, rows: n, keptAs: `${file}.migrated` }, `${name} moved into the hub database`);
    return n;
  }

  if (opts.events) {
    type EventRow = Schema['events'];
    out.events = await importFile<EventRow>(
      'events.db',
      'events',
      'SELECT id, estate, gateway, device, type, ts, seq, data, received_at FROM events',
      async (trx, rows) => void (await trx.insertInto('events').values(rows).onConflict((oc) => oc.column('id').doNothing()).execute()),
    );
  }
  type LinkRow = Schema['snapshot_links'];
  out.snapshotLinks = await importFile<LinkRow>(
    'snapshots.db',
    'snapshot_links',
    'SELECT event_id, sha256, estate, gateway, device, camera, taken_at, received_at FROM links',
    async (trx, rows) => void (await trx.insertInto('snapshot_links').values(rows).onConflict((oc) => oc.columns(['event_id', 'sha256']).doNothing()).execute()),
  );
  const at = Date.now();
  out.dedupIds = await importFile<{ id: string }>('dedup.db', 'event_log', 'SELECT id FROM seen ORDER BY n', async (trx, rows) => {
    await trx
      .insertInto('event_log')
      .values(rows.map((r) => ({ id: r.id, kind: 'seen' as const, estate: '', at, body: '' })))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  });
  return out;
}
