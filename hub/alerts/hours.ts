/**
 * Local wall-clock windows ("22:00"–"06:00") in an IANA time zone, for night hours and quiet hours.
 * Intl only, through lib/zoned.ts (shared with the duty roster).
 */
import { localTime, toMinute } from '../../lib/zoned.js';

/** "HH:MM" → minutes after midnight. */
export const parseHm = toMinute;

/** Minutes after local midnight of `ms` in `timeZone` (0..1439). */
export const localMinute = (ms: number, timeZone: string): number => localTime(ms, timeZone).minute;

/** A daily window `[from, to)` in local time; `to <= from` crosses midnight; `from === to` is empty. */
export interface DailyWindow {
  from: string;
  to: string;
}

/** Whether `ms` falls inside the daily window, in local time of `timeZone`. */
export function inDailyWindow(ms: number, w: DailyWindow, timeZone: string): boolean {
  const from = parseHm(w.from);
  const to = parseHm(w.to);
  if (from === to) return false;
  const now = localMinute(ms, timeZone);
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/**
 * The first instant after `ms` at which local time reads `hm` (seconds zero). Handles a zone whose
 * offset changes in between (daylight saving) by correcting once against the minute actually reached.
 */
export function nextLocalTime(ms: number, hm: string, timeZone: string): number {
  const target = parseHm(hm);
  const floor = ms - (((ms % 60_000) + 60_000) % 60_000);
  let delta = (target - localMinute(floor, timeZone) + 1440) % 1440;
  if (delta === 0) delta = 1440;
  let at = floor + delta * 60_000;
  const drift = ((target - localMinute(at, timeZone) + 1440 + 720) % 1440) - 720;
  at += drift * 60_000;
  return at > ms ? at : at + 86_400_000;
}
