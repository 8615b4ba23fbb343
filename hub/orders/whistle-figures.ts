import type { HubDatabase } from '../platform/db/index.js';

/** Per department, over whistles made in [from, to): how many, checked in, missed, reported, and the median time to check in. */
export interface WhistleFigure {
  department: string;
  whistled: number;
  checkedIn: number;
  missed: number;
  reported: number;
  /** Median seconds from the whistle to its check-in (null: none checked in). */
  medianCheckInS: number | null;
}

/**
 * The whistles' figures for the street overview (issue 19 item 7; hub/orders/figures.ts may call it).
 * A whistle counts as missed once its check-in time passed without a check-in (also when checked in late).
 */
export async function whistleFigures(hubDb: HubDatabase, q: { estates?: readonly string[]; from: number; to: number; now?: number }): Promise<WhistleFigure[]> {
  const now = q.now ?? Date.now();
  if (q.estates && q.estates.length === 0) return [];
  let query = hubDb.db
    .selectFrom('order_whistles')
    .select(['department', 'whistled_at', 'check_in_by', 'checked_in_at', 'reported_at', 'missed_at'])
    .where('whistled_at', '>=', q.from)
    .where('whistled_at', '<', q.to);
  if (q.estates) query = query.where('estate', 'in', q.estates);
  const rows = await query.execute();
  const by = new Map<string, { f: WhistleFigure; times: number[] }>();
  for (const r of rows) {
    let e = by.get(r.department);
    if (!e) by.set(r.department, (e = { f: { department: r.department, whistled: 0, checkedIn: 0, missed: 0, reported: 0, medianCheckInS: null }, times: [] }));
    e.f.whistled++;
    const inAt = r.checked_in_at === null ? null : Number(r.checked_in_at);
    if (inAt !== null) {
      e.f.checkedIn++;
      e.times.push((inAt - Number(r.whistled_at)) / 1000);
    }
    if (r.reported_at !== null) e.f.reported++;
    if (r.missed_at !== null || (inAt === null ? now > Number(r.check_in_by) : inAt > Number(r.check_in_by))) e.f.missed++;
  }
  return [...by.values()]
    .map(({ f, times }) => {
      times.sort((a, b) => a - b);
      const m = times.length;
      return { ...f, medianCheckInS: m === 0 ? null : m % 2 ? times[(m - 1) / 2]! : (times[m / 2 - 1]! + times[m / 2]!) / 2 };
    })
    .sort((a, b) => (a.department < b.department ? -1 : 1));
}
