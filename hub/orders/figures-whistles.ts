import type { Kysely } from 'kysely';
import type { WhistleFigures } from '../../protocol/work-orders.js';
import type { Schema } from '../platform/db/schema.js';
import { median, MAX_ROWS } from './figures.js';
import { RbError } from '../errors.js';

/**
 * Whistles (吹哨, `order_whistles`) made in [from, to) per estate and all together: how many, checked
 * in, missed, and the median time from the whistle to the check-in (报到). Missed as
 * hub/orders/whistle-figures.ts counts it: the hub saw the check-in time pass (`missed_at`), or the
 * check-in came after it, or it passed (at `now`) without one.
 */
export async function whistleFiguresByEstate(
  db: Kysely<Schema>,
  q: { estates: readonly string[]; from: number; to: number; now: number },
): Promise<{ total: WhistleFigures; estates: Map<string, WhistleFigures> }> {
  const rows =
    q.estates.length === 0
      ? []
      : await db
          .selectFrom('order_whistles')
          .select(['estate', 'whistled_at', 'check_in_by', 'checked_in_at', 'missed_at'])
          .where('estate', 'in', [...q.estates])
          .where('whistled_at', '>=', q.from)
          .where('whistled_at', '<', q.to)
          .limit(MAX_ROWS + 1)
          .execute();
  if (rows.length > MAX_ROWS) throw new RbError('RB_ERR_BAD_QUERY', `from: more than ${MAX_ROWS} whistles in the range; narrow it`);
  type Tally = { whistles: number; checkedIn: number; missed: number; times: number[] };
  const blank = (): Tally => ({ whistles: 0, checkedIn: 0, missed: 0, times: [] });
  const total = blank();
  const by = new Map(q.estates.map((e) => [e, blank()]));
  for (const r of rows) {
    const inAt = r.checked_in_at === null ? null : Number(r.checked_in_at);
    const by_ = Number(r.check_in_by);
    const missed = r.missed_at !== null || (inAt === null ? q.now > by_ : inAt > by_);
    for (const t of [by.get(r.estate), total]) {
      if (!t) continue;
      t.whistles += 1;
      if (inAt !== null) {
        t.checkedIn += 1;
        t.times.push(Math.max(0, inAt - Number(r.whistled_at)));
      }
      if (missed) t.missed += 1;
    }
  }
  const out = (t: Tally): WhistleFigures => ({ whistles: t.whistles, checkedIn: t.checkedIn, missed: t.missed, medianCheckInMs: median(t.times) });
  return { total: out(total), estates: new Map([...by].map(([e, t]) => [e, out(t)])) };
}

/** The latest check-in on an order (the `checkin_s` and `checkin_late` of its `checked_in` fact). */
export async function latestCheckIn(db: Kysely<Schema>, orderId: string): Promise<{ checkInS: number; late: boolean } | undefined> {
  const row = await db
    .selectFrom('order_whistles')
    .select(['whistled_at', 'check_in_by', 'checked_in_at'])
    .where('order_id', '=', orderId)
    .where('checked_in_at', 'is not', null)
    .orderBy('checked_in_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row || row.checked_in_at === null) return undefined;
  return { checkInS: Math.max(0, Number(row.checked_in_at) - Number(row.whistled_at)) / 1000, late: Number(row.checked_in_at) > Number(row.check_in_by) };
}
