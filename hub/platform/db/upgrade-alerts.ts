import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { HubDatabase } from './open.js';
import type { Schema } from './schema.js';

const BATCH = 500;

export interface AlertsImport {
  alerts: number;
  transitions: number;
  events: number;
  comments: number;
  activity: number;
  settings: number;
  pendingSnapshots: number;
  pushRows: number;
}

/**
 * Upgrade (issue 16, item 8): the alert store and the push replay log of a release that kept them in
 * their own files, `{dataDir}/alerts.db` and `{dataDir}/push.db`, are copied into the hub database
 * once, then each file is renamed `*.migrated` (kept, not deleted). Alerts keep their ids, states,
 * timelines (transitions, linked events with snapshots, activity, comments with their ids) and the
 * estates' settings; push log rows keep their scopes and sequences, so a screen holding a `since`
 * replays across the upgrade. Each file is copied in one transaction, and only while its tables in
 * the hub database are empty: a second start, or an old file put back later, never duplicates rows.
 */
export async function importLegacyAlerts(hubDb: HubDatabase, dataDir: string, log: Logger): Promise<AlertsImport> {
  const out: AlertsImport = { alerts: 0, transitions: 0, events: 0, comments: 0, activity: 0, settings: 0, pendingSnapshots: 0, pushRows: 0 };
  const alertsFile = join(dataDir, 'alerts.db');
  if (existsSync(alertsFile)) {
    const { db } = hubDb;
    const [a, s] = await Promise.all([db.selectFrom('alerts').select('id').limit(1).execute(), db.selectFrom('alert_settings').select('estate').limit(1).execute()]);
    if (a.length > 0 || s.length > 0) log.warn({ file: alertsFile }, 'alerts.db left in place: the hub database already has alerts or alert settings');
    else {
      await copyFile(alertsFile, (old) => hubDb.transaction((trx) => copyAlerts(hubDb, old, trx, out)));
      log.info({ from: alertsFile, keptAs: `${alertsFile}.migrated`, ...out, pushRows: undefined }, 'alerts moved into the hub database');
    }
  }
  const pushFile = join(dataDir, 'push.db');
  if (existsSync(pushFile)) {
    const existing = await hubDb.db.selectFrom('push_log').select('seq').limit(1).execute();
    if (existing.length > 0) log.warn({ file: pushFile }, 'push.db left in place: the hub database already has a push log');
    else {
      await copyFile(pushFile, (old) =>
        hubDb.transaction(async (trx) => {
          out.pushRows = await copyRows<Schema['push_log']>(old, 'SELECT scope, seq, at, event, data FROM push_log ORDER BY scope, seq', (rows) =>
            trx.insertInto('push_log').values(rows).execute(),
          );
        }),
      );
      log.info({ from: pushFile, rows: out.pushRows, keptAs: `${pushFile}.migrated` }, 'push log moved into the hub database');
    }
  }
  return out;
}

/** Open the old file, run the copy, close it (closing checkpoints its WAL: the renamed file is whole), rename it. */
async function copyFile(file: string, copy: (old: Database.Database) => Promise<void>): Promise<void> {
  // Read-write, not read-only: closing it checkpoints its WAL into the file.
  const old = new Database(file, { fileMustExist: true });
  try {
    await copy(old);
  } finally {
    old.close();
  }
  renameSync(file, `${file}.migrated`);
}

/** Stream rows of the old file into the hub database in batches; returns how many. */
async function copyRows<R>(old: Database.Database, query: string, insert: (rows: R[]) => Promise<unknown>): Promise<number> {
  let batch: R[] = [];
  let n = 0;
  // Read all first (better-sqlite3's iterate keeps the old connection busy across the awaits, which it refuses).
  for (const row of old.prepare<[], R>(query).all()) {
    batch.push(row);
    if (batch.length === BATCH) {
      await insert(batch);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length) await insert(batch);
  return n + batch.length;
}

const hasTable = (old: Database.Database, name: string): boolean =>
  old.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)!.n > 0;
const hasColumn = (old: Database.Database, table: string, column: string): boolean =>
  (old.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some((c) => c.name === column);

async function copyAlerts(hubDb: HubDatabase, old: Database.Database, trx: Transaction<Schema>, out: AlertsImport): Promise<void> {
  // A store of schema version 1 has no condition-cleared stamp and no activity table.
  const cleared = hasColumn(old, 'alerts', 'cleared_at') ? 'cleared_at, cleared_event' : 'NULL AS cleared_at, NULL AS cleared_event';
  type AlertRow = Schema['alerts'];
  out.alerts = await copyRows<AlertRow>(
    old,
    `SELECT id, estate, gateway, device, rule, key, severity, state, count, opened_at, last_at, ack_at, ack_by, resolved_at, resolved_by,
            resolution, level, notified_at, assignee, data, ${cleared} FROM alerts ORDER BY id`,
    (rows) => trx.insertInto('alerts').values(rows).execute(),
  );
  // Serial ids are given in the old rowid order, which is the order the timeline reads them in.
  out.transitions = await copyRows<{ alert: string; at: number; actor: string; from: null; to: 'open'; note: string | null }>(
    old,
    'SELECT alert, at, actor, "from", "to", note FROM alert_transitions ORDER BY rowid',
    (rows) => trx.insertInto('alert_transitions').values(rows).execute(),
  );
  out.events = await copyRows<{ alert: string; event_id: string; at: number; snapshots: string }>(
    old,
    'SELECT alert, event_id, at, snapshots FROM alert_events ORDER BY rowid',
    (rows) => trx.insertInto('alert_events').values(rows).execute(),
  );
  // Comments keep their ids (the API returns them).
  out.comments = await copyRows<{ id: number; alert: string; at: number; actor: string; text: string }>(
    old,
    'SELECT id, alert, at, actor, text FROM alert_comments ORDER BY id',
    (rows) => trx.insertInto('alert_comments').values(rows).execute(),
  );
  if (hasTable(old, 'alert_activity')) {
    out.activity = await copyRows<Omit<Schema['alert_activity'], 'id'>>(
      old,
      'SELECT alert, at, kind, actor, level, reason, event_id, count FROM alert_activity ORDER BY rowid',
      (rows) => trx.insertInto('alert_activity').values(rows).execute(),
    );
  }
  out.pendingSnapshots = await copyRows<Schema['alert_pending_snapshots']>(old, 'SELECT event_id, sha256, at FROM pending_snapshots', (rows) =>
    trx.insertInto('alert_pending_snapshots').values(rows).execute(),
  );
  out.settings = await copyRows<Schema['alert_settings']>(old, 'SELECT estate, json, updated_at FROM estate_settings', (rows) =>
    trx.insertInto('alert_settings').values(rows).execute(),
  );
  // An explicit id does not move PostgreSQL's identity sequence (SQLite's AUTOINCREMENT follows max(rowid)).
  if (hubDb.dialect === 'postgres' && out.comments > 0) {
    await sql`SELECT setval(pg_get_serial_sequence('alert_comments', 'id'), (SELECT max(id) FROM alert_comments))`.execute(trx);
  }
}
