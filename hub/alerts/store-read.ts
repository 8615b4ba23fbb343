import type { Kysely } from 'kysely';
import { RbError } from '../errors.js';
import type { Schema } from '../platform/db/index.js';
import { list, type Row } from './store-reports.js';
import type { Alert, AlertQuery } from './types.js';

/**
 * The alert store's reads of the `alerts` rows, on the hub database or in a caller's transaction: rows →
 * alerts with their events and snapshots, by id, by dedup key, and the paged list. Used by hub/alerts/store.ts.
 */

type Trx = Kysely<Schema>;

/** Rows → alerts, with their events and snapshots in one query. */
export async function toAlertsOn(exec: Trx, rows: Row[]): Promise<Alert[]> {
  if (rows.length === 0) return [];
  const events = new Map<string, Array<{ event_id: string; snapshots: string }>>();
  const linked = await exec
    .selectFrom('alert_events')
    .select(['alert', 'event_id', 'snapshots'])
    .where('alert', 'in', rows.map((r) => r.id))
    .orderBy('id')
    .execute();
  for (const e of linked) {
    let l = events.get(e.alert);
    if (!l) events.set(e.alert, (l = []));
    l.push(e);
  }
  return rows.map((r) => {
    const evs = events.get(r.id) ?? [];
    const a: Alert = {
      id: r.id, estate: r.estate, gateway: r.gateway, device: r.device, rule: r.rule, key: r.key,
      severity: r.severity, state: r.state, count: r.count, openedAt: r.opened_at, lastAt: r.last_at, level: r.level,
      events: evs.map((e) => e.event_id),
      snapshots: evs.flatMap((e) => (JSON.parse(e.snapshots) as string[]).map((sha256) => ({ sha256, eventId: e.event_id }))),
      data: JSON.parse(r.data) as Record<string, unknown>,
    };
    if (r.ack_at !== null) a.acknowledgedAt = r.ack_at;
    if (r.ack_by !== null) a.acknowledgedBy = r.ack_by;
    if (r.resolved_at !== null) a.resolvedAt = r.resolved_at;
    if (r.resolved_by !== null) a.resolvedBy = r.resolved_by;
    if (r.resolution !== null) a.resolution = r.resolution;
    if (r.notified_at !== null) a.notifiedAt = r.notified_at;
    if (r.assignee !== null) a.assignee = r.assignee;
    if (r.cleared_at !== null) a.conditionClearedAt = r.cleared_at;
    if (r.cleared_event !== null) a.conditionClearedEvent = r.cleared_event;
    return a;
  });
}

/** The row of an alert by id; undefined when there is none. */
export const rowById = (exec: Trx, id: string): Promise<Row | undefined> => exec.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
/** The row of an alert by id; RB_ERR_NOT_FOUND when there is none. */
export async function rowOf(exec: Trx, id: string): Promise<Row> {
  const row = await rowById(exec, id);
  if (!row) throw new RbError('RB_ERR_NOT_FOUND', `no alert ${JSON.stringify(id)}`);
  return row;
}
/** The alert by id, with its events and snapshots. */
export const alertOf = async (exec: Trx, id: string): Promise<Alert> => (await toAlertsOn(exec, [await rowOf(exec, id)]))[0]!;
/** The unresolved alert with this dedup key (estate + device + rule + key), if any. */
export const byKey = (exec: Trx, k: { estate: string; device: string; rule: string; key: string }): Promise<Row | undefined> =>
  exec
    .selectFrom('alerts')
    .selectAll()
    .where('estate', '=', k.estate)
    .where('device', '=', k.device)
    .where('rule', '=', k.rule)
    .where('key', '=', k.key)
    .where('state', '<>', 'resolved')
    .executeTakeFirst();

/** Newest first (opened_at, then id), or by severity then age; `next` is the cursor of the following page or null. */
export async function listAlerts(db: Trx, query: AlertQuery): Promise<{ items: Alert[]; next: string | null }> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new RbError('RB_ERR_BAD_QUERY', 'limit must be 1..500');
  let b: Row | undefined;
  if (query.before !== undefined) {
    b = await rowById(db, query.before);
    if (!b) throw new RbError('RB_ERR_BAD_QUERY', 'unknown cursor');
  }
  if (query.estates.length === 0) return { items: [], next: null };
  let select = db.selectFrom('alerts').selectAll().where('estate', 'in', [...query.estates]);
  const states = list(query.state);
  if (states) select = select.where('state', 'in', states);
  const severities = list(query.severity);
  if (severities) select = select.where('severity', 'in', severities);
  const rules = list(query.rule);
  if (rules) select = select.where('rule', 'in', rules);
  if (query.sort === 'severity') {
    // Severity first (highest), then the longest waiting; the cursor continues after (severity, opened_at, id).
    if (b) {
      const c = b;
      select = select.where((eb) =>
        eb.or([
          eb('severity', '<', c.severity),
          eb.and([eb('severity', '=', c.severity), eb.or([eb('opened_at', '>', c.opened_at), eb.and([eb('opened_at', '=', c.opened_at), eb('id', '>', c.id)])])]),
        ]),
      );
    }
    select = select.orderBy('severity', 'desc').orderBy('opened_at', 'asc').orderBy('id', 'asc');
  } else {
    if (b) {
      const c = b;
      select = select.where((eb) => eb.or([eb('opened_at', '<', c.opened_at), eb.and([eb('opened_at', '=', c.opened_at), eb('id', '<', c.id)])]));
    }
    select = select.orderBy('opened_at', 'desc').orderBy('id', 'desc');
  }
  const rows = await select.limit(limit + 1).execute();
  const more = rows.length > limit;
  const items = await toAlertsOn(db, rows.slice(0, limit));
  return { items, next: more ? items[items.length - 1]!.id : null };
}
