import type { Kysely, Selectable } from 'kysely';
import { RbError } from '../errors.js';
import type { Schema } from '../platform/db/index.js';
import type { AlertsTable } from '../platform/db/schema-alerts.js';
import type { Alert, HistoryQuery } from './types.js';

/**
 * The alert store's read-only reports over the hub database: response figures, open counts and the
 * history of resolved alerts (screens, street overview, history by day). Part of AlertStore.
 */

/** A row of `alerts`. */
export type Row = Selectable<AlertsTable>;

/** Alerts opened in a window and how fast people answered them. */
export interface AlertStats {
  opened: number;
  resolved: number;
  acknowledged: number;
  escalated: number;
  medianAckS: number | null;
  p90AckS: number | null;
  medianResolveS: number | null;
}

export interface AlertReports {
  /** Response figures over alerts opened in [from, to) of these estates (screens, street overview). */
  stats(q: { estates: readonly string[]; from: number; to: number }): Promise<AlertStats>;
  /** Unresolved alerts per estate and severity. */
  openCounts(estates: readonly string[]): Promise<Record<string, Record<'1' | '2' | '3' | '4', number>>>;
  /** Resolved alerts by resolution time, newest first; `next` is the cursor of the following page or null. */
  history(query: HistoryQuery): Promise<{ items: Alert[]; next: string | null }>;
  /** Resolved alerts per rule with resolvedAt in [from, to). */
  resolvedCounts(query: Omit<HistoryQuery, 'limit' | 'before'>): Promise<Record<string, number>>;
}

const median = (xs: number[], p = 0.5): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

/** A filter value as a list; undefined = no filter. */
export const list = <T>(v: T | readonly T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? [...(v as T[])] : [v as T]);

export function createReports(db: Kysely<Schema>, toAlerts: (rows: Row[]) => Promise<Alert[]>): AlertReports {
  /** Alerts resolved in [from, to) in these estates (and rules): what history pages and counts per day. */
  const resolvedWithin = (q: { estates: readonly string[]; rule?: string | readonly string[]; from: number; to: number }) => {
    let where = db
      .selectFrom('alerts')
      .where('state', '=', 'resolved')
      .where('resolved_at', '>=', q.from)
      .where('resolved_at', '<', q.to)
      .where('estate', 'in', [...q.estates]);
    const rules = list(q.rule);
    if (rules) where = where.where('rule', 'in', rules);
    return where;
  };
  return {
    async stats({ estates, from, to }) {
      const rows =
        estates.length === 0
          ? []
          : await db
              .selectFrom('alerts')
              .select(['opened_at', 'ack_at', 'resolved_at', 'level'])
              .where('estate', 'in', [...estates])
              .where('opened_at', '>=', from)
              .where('opened_at', '<', to)
              .execute();
      const ack = rows.filter((r) => r.ack_at !== null).map((r) => (r.ack_at! - r.opened_at) / 1000);
      const res = rows.filter((r) => r.resolved_at !== null).map((r) => (r.resolved_at! - r.opened_at) / 1000);
      return {
        opened: rows.length,
        resolved: res.length,
        acknowledged: ack.length,
        escalated: rows.filter((r) => r.level > 0).length,
        medianAckS: median(ack),
        p90AckS: median(ack, 0.9),
        medianResolveS: median(res),
      };
    },

    async openCounts(estates) {
      const out: Record<string, Record<'1' | '2' | '3' | '4', number>> = {};
      for (const e of estates) out[e] = { '1': 0, '2': 0, '3': 0, '4': 0 };
      if (estates.length === 0) return out;
      const rows = await db
        .selectFrom('alerts')
        .select((eb) => ['estate', 'severity', eb.fn.countAll<number>().as('n')])
        .where('state', '<>', 'resolved')
        .where('estate', 'in', [...estates])
        .groupBy(['estate', 'severity'])
        .execute();
      for (const r of rows) {
        const key = String(Math.min(4, Math.max(1, r.severity))) as '1' | '2' | '3' | '4';
        if (out[r.estate]) out[r.estate]![key] += Number(r.n);
      }
      return out;
    },

    async history(query) {
      const limit = query.limit ?? 500;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new RbError('RB_ERR_BAD_QUERY', 'limit must be 1..500');
      let before: { at: number; id: string } | undefined;
      if (query.before !== undefined) {
        const b = await db.selectFrom('alerts').select(['id', 'resolved_at']).where('id', '=', query.before).executeTakeFirst();
        if (!b || b.resolved_at === null) throw new RbError('RB_ERR_BAD_QUERY', 'unknown cursor');
        before = { at: b.resolved_at, id: b.id };
      }
      if (query.estates.length === 0) return { items: [], next: null };
      let select = resolvedWithin(query).selectAll();
      if (before) {
        const b = before;
        select = select.where((eb) => eb.or([eb('resolved_at', '<', b.at), eb.and([eb('resolved_at', '=', b.at), eb('id', '<', b.id)])]));
      }
      const rows = await select.orderBy('resolved_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
      const more = rows.length > limit;
      const items = await toAlerts(rows.slice(0, limit));
      return { items, next: more ? items[items.length - 1]!.id : null };
    },

    async resolvedCounts(query) {
      const out: Record<string, number> = {};
      if (query.estates.length === 0) return out;
      const select = resolvedWithin(query).select((eb) => ['rule', eb.fn.countAll<number>().as('n')]);
      for (const r of await select.groupBy('rule').execute()) out[r.rule] = Number(r.n);
      return out;
    },
  };
}
