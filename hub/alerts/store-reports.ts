import type { Database } from 'better-sqlite3';
import { RbError } from '../errors.js';
import { arr, type Row } from './store-schema.js';
import type { Alert, HistoryQuery } from './types.js';

/**
 * The alert store's read-only reports over `{dataDir}/alerts.db`: response figures, open counts and
 * the history of resolved alerts (screens, street overview, history by day). Part of AlertStore.
 */

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
  stats(q: { estates: readonly string[]; from: number; to: number }): AlertStats;
  /** Unresolved alerts per estate and severity. */
  openCounts(estates: readonly string[]): Record<string, Record<'1' | '2' | '3' | '4', number>>;
  /** Resolved alerts by resolution time, newest first; `next` is the cursor of the following page or null. */
  history(query: HistoryQuery): { items: Alert[]; next: string | null };
  /** Resolved alerts per rule with resolvedAt in [from, to). */
  resolvedCounts(query: Omit<HistoryQuery, 'limit' | 'before'>): Record<string, number>;
}

const median = (xs: number[], p = 0.5): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

export function createReports(db: Database, toAlerts: (rows: Row[]) => Alert[]): AlertReports {
  const q = {
    byId: db.prepare<[string], Row>('SELECT * FROM alerts WHERE id = ?'),
    history: db.prepare<Record<string, unknown>, Row>(
      `SELECT * FROM alerts
       WHERE state = 'resolved' AND resolved_at >= @from AND resolved_at < @to
         AND estate IN (SELECT value FROM json_each(@estates))
         AND (@rules IS NULL OR rule IN (SELECT value FROM json_each(@rules)))
         AND (@bAt IS NULL OR resolved_at < @bAt OR (resolved_at = @bAt AND id < @bId))
       ORDER BY resolved_at DESC, id DESC LIMIT @limit`,
    ),
    resolvedCounts: db.prepare<Record<string, unknown>, { rule: string; n: number }>(
      `SELECT rule, COUNT(*) AS n FROM alerts
       WHERE state = 'resolved' AND resolved_at >= @from AND resolved_at < @to
         AND estate IN (SELECT value FROM json_each(@estates))
         AND (@rules IS NULL OR rule IN (SELECT value FROM json_each(@rules)))
       GROUP BY rule`,
    ),
    statsRows: db.prepare<[string, number, number], { opened_at: number; ack_at: number | null; resolved_at: number | null; resolved_by: string | null; level: number }>(
      `SELECT opened_at, ack_at, resolved_at, resolved_by, level FROM alerts
       WHERE estate IN (SELECT value FROM json_each(?)) AND opened_at >= ? AND opened_at < ?`,
    ),
    openCounts: db.prepare<[string], { estate: string; severity: number; n: number }>(
      `SELECT estate, severity, COUNT(*) AS n FROM alerts
       WHERE state <> 'resolved' AND estate IN (SELECT value FROM json_each(?)) GROUP BY estate, severity`,
    ),
  };

  return {
    stats({ estates, from, to }) {
      const rows = q.statsRows.all(JSON.stringify(estates), from, to);
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

    openCounts(estates) {
      const out: Record<string, Record<'1' | '2' | '3' | '4', number>> = {};
      for (const e of estates) out[e] = { '1': 0, '2': 0, '3': 0, '4': 0 };
      for (const r of q.openCounts.all(JSON.stringify(estates))) {
        const key = String(Math.min(4, Math.max(1, r.severity))) as '1' | '2' | '3' | '4';
        if (out[r.estate]) out[r.estate]![key] += r.n;
      }
      return out;
    },

    history(query) {
      const limit = query.limit ?? 500;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new RbError('RB_ERR_BAD_QUERY', 'limit must be 1..500');
      let bAt: number | null = null;
      let bId: string | null = null;
      if (query.before !== undefined) {
        const b = q.byId.get(query.before);
        if (!b || b.resolved_at === null) throw new RbError('RB_ERR_BAD_QUERY', 'unknown cursor');
        [bAt, bId] = [b.resolved_at, b.id];
      }
      const rows = q.history.all({ estates: JSON.stringify(query.estates), rules: arr(query.rule), from: query.from, to: query.to, bAt, bId, limit: limit + 1 });
      const more = rows.length > limit;
      const items = toAlerts(rows.slice(0, limit));
      return { items, next: more ? items[items.length - 1]!.id : null };
    },

    resolvedCounts(query) {
      const out: Record<string, number> = {};
      for (const r of q.resolvedCounts.all({ estates: JSON.stringify(query.estates), rules: arr(query.rule), from: query.from, to: query.to })) out[r.rule] = r.n;
      return out;
    },
  };
}
