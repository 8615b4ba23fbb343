/**
 * Reads of the InfluxDB event store: events (keyset pages) and counts per interval. Every value
 * travels as a bound parameter (`$name`, InfluxDB's `params`); the query text is assembled only from
 * fixed fragments in this file. Times are bound as RFC 3339 strings: exact at ms.
 */
import type { RbEvent } from '../../protocol/index.js';
import type { Series } from './influx-http.js';
import { MEASUREMENT, nsToMs, parseTimeNs } from './influx-line.js';
import { ident, RAW_RP } from './influx-schema.js';
import { checkCountQuery, compareNewestFirst, isBefore, type CountInterval, type CountQuery, type CountRow, type EventQuery } from './types.js';

/** Runs one statement with bound parameters. */
export type RunQuery = (text: string, params: Record<string, string | number>) => Promise<Series[]>;

/** Filters in a fixed order, each a fixed InfluxQL fragment with a bound parameter. */
const FILTERS = [
  ['estate', '"estate" = $estate'],
  ['gateway', '"gateway" = $gateway'],
  ['device', '"device" = $device'],
  ['type', '"type" = $type'],
  ['from', 'time >= $from'],
  ['to', 'time < $to'],
] as const;
const COLUMNS = ['time', 'id', 'seq', 'data', 'estate', 'gateway', 'device', 'type'] as const;
const FROM = `${ident(RAW_RP)}.${ident(MEASUREMENT)}`;

/** GROUP BY time() literals, chosen by key from this fixed map: never from request text. */
const INTERVAL_LITERAL: Readonly<Record<CountInterval, string>> = { '1m': '1m', '5m': '5m', '1h': '1h', '1d': '1d' };

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Events newest first in (ts, seq, id) order, strictly older than `q.before` when given.
 *
 * A point's time is `ts·10⁶ + seq mod 10⁶` ns, so InfluxDB's time order is (ts, seq mod 10⁶) and ties
 * across series are unordered. Exact at the page edges regardless: the cursor's own millisecond is
 * read whole and filtered here, the rest is read with `time < ts`, and when the page is full its
 * oldest millisecond (which LIMIT may have cut anywhere) is read whole again and the page re-sorted.
 */
export async function queryEvents(run: RunQuery, q: EventQuery): Promise<RbEvent[]> {
  if (!Number.isInteger(q.limit) || q.limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${q.limit}`);
  const params: Record<string, string | number> = {};
  const where: string[] = [];
  for (const [key, fragment] of FILTERS) {
    const value = q[key];
    if (value === undefined) continue;
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`${key} must be an integer ms time, got ${value}`);
    params[key] = typeof value === 'number' ? iso(value) : value;
    where.push(fragment);
  }
  const before = q.before;
  if (before && (!Number.isSafeInteger(before.ts) || !Number.isSafeInteger(before.seq))) {
    throw new RangeError(`before must hold integer ts and seq, got ${before.ts}, ${before.seq}`);
  }
  if (q.limit === 0) return [];

  const select = async (extra: readonly string[], extraParams: Record<string, string | number>, limit?: number): Promise<RbEvent[]> => {
    const all = [...where, ...extra];
    const text =
      `SELECT ${COLUMNS.slice(1).map(ident).join(', ')} FROM ${FROM}` +
      (all.length ? ` WHERE ${all.join(' AND ')}` : '') +
      ' ORDER BY time DESC' +
      (limit === undefined ? '' : ' LIMIT $limit');
    return toEvents(await run(text, { ...params, ...extraParams, ...(limit === undefined ? {} : { limit }) }));
  };
  const wholeMs = (ts: number): Promise<RbEvent[]> =>
    select(['time >= $msStart', 'time < $msEnd'], { msStart: iso(ts), msEnd: iso(ts + 1) });

  const edge = before ? (await wholeMs(before.ts)).filter((e) => isBefore(e, before)) : [];
  let page = before ? await select(['time < $beforeMs'], { beforeMs: iso(before.ts) }, q.limit) : await select([], {}, q.limit);
  if (page.length === q.limit) {
    const oldest = Math.min(...page.map((e) => e.ts));
    page = [...page.filter((e) => e.ts !== oldest), ...(await wholeMs(oldest))];
  }
  return [...edge, ...page].sort(compareNewestFirst).slice(0, q.limit);
}

function toEvents(series: readonly Series[]): RbEvent[] {
  const events: RbEvent[] = [];
  for (const s of series) {
    const at = COLUMNS.map((c) => s.columns.indexOf(c));
    for (const row of s.values) {
      const [time, id, seq, data, estate, gateway, device, type] = at.map((i) => row[i]);
      events.push({
        v: 1,
        id,
        seq,
        ts: nsToMs(parseTimeNs(String(time))),
        estate,
        gateway,
        device,
        type,
        data: JSON.parse(String(data)) as unknown,
      } as RbEvent);
    }
  }
  return events;
}

/** Filters `counts` takes, fixed fragments; the time range is always bound. */
const COUNT_FILTERS = [
  ['estate', '"estate" = $estate'],
  ['device', '"device" = $device'],
  ['type', '"type" = $type'],
] as const;

/** Events per (interval, type) in [from, to): `count("id")` grouped by time() and the `type` tag. */
export async function countEvents(run: RunQuery, q: CountQuery): Promise<CountRow[]> {
  checkCountQuery(q);
  const literal = INTERVAL_LITERAL[q.interval];
  const params: Record<string, string | number> = { from: iso(q.from), to: iso(q.to) };
  const where: string[] = [];
  for (const [key, fragment] of COUNT_FILTERS) {
    const value = q[key];
    if (value === undefined) continue;
    params[key] = value;
    where.push(fragment);
  }
  where.push('time >= $from', 'time < $to');
  if (q.to <= q.from) return [];
  // fill(none): no rows for empty buckets (the SQLite store has none either).
  const text = `SELECT count("id") FROM ${FROM} WHERE ${where.join(' AND ')} GROUP BY time(${literal}), "type" fill(none)`;
  const rows: CountRow[] = [];
  for (const s of await run(text, params)) {
    const type = s.tags?.type ?? '';
    const timeAt = s.columns.indexOf('time');
    const countAt = s.columns.indexOf('count');
    for (const row of s.values) {
      const count = Number(row[countAt]);
      if (count > 0) rows.push({ start: nsToMs(parseTimeNs(String(row[timeAt]))), type, count });
    }
  }
  return rows.sort((a, b) => a.start - b.start || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}
