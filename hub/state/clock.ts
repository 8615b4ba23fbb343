/**
 * Local calendar days in an IANA time zone, for the daily occupancy reset. Formatters are cached:
 * building an Intl.DateTimeFormat is far slower than using one.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function wallClock(ms: number, timeZone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour!, min: parts.minute!, s: parts.second! };
}

/** The last answer per zone and the UTC minute it holds for: dayKey runs for every event. */
const dayCache = new Map<string, { minute: number; key: string }>();

/** The local day of `ms` in `timeZone`, as `YYYY-MM-DD` (sorts as a string). */
export function dayKey(ms: number, timeZone: string): string {
  const minute = Math.floor(ms / 60_000);
  const hit = dayCache.get(timeZone);
  if (hit?.minute === minute) return hit.key;
  const { y, m, d, s } = wallClock(ms, timeZone);
  const key = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  // The whole UTC minute is the same local day when the zone's offset is whole minutes (every zone
  // since the 1970s; some older local mean times were not): the local and UTC seconds then agree.
  if (s === new Date(ms).getUTCSeconds()) dayCache.set(timeZone, { minute, key });
  return key;
}

/** Offset of local wall time from UTC at `ms`, in ms (Asia/Shanghai: +8 h). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const wall = Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s);
  return wall - (ms - (ms % 1000 + 1000) % 1000);
}

/** The first instant after `ms` that is local midnight in `timeZone`. */
export function nextMidnight(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const localMidnight = Date.UTC(w.y, w.m - 1, w.d + 1);
  // Two passes: the offset at the target instant may differ from now (daylight saving).
  let at = localMidnight - offsetAt(ms, timeZone);
  at = localMidnight - offsetAt(at, timeZone);
  return at > ms ? at : at + 86_400_000;
}
