/**
 * Wall-clock times in the hub's time zone (rosters are kept in it, docs/alerts.md "Roster"), whatever
 * the browser's own zone is: Intl does the zone arithmetic, so no tz database ships with the app.
 */
export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 1 = Monday … 7 = Sunday, as the roster counts. */
  weekday: number;
}

const fmts = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function zonedParts(ms: number, timeZone: string): ZonedParts {
  let f = fmts.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    fmts.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = part.value;
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour) % 24, minute: Number(p.minute), weekday: WEEKDAYS[p.weekday ?? ''] ?? 1 };
}

/** The instant of a local wall-clock time in `timeZone` (days past the month's end roll over). */
export function zonedToMs(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let ms = wall;
  // Two rounds settle the offset, also next to a DST change.
  for (let i = 0; i < 2; i++) {
    const p = zonedParts(ms, timeZone);
    const seen = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    ms += wall - seen;
  }
  return ms;
}

/** Midnight that starts the Monday of the week holding `ms`, plus `weeks` weeks, in `timeZone`. */
export function weekStart(ms: number, timeZone: string, weeks = 0): number {
  const p = zonedParts(ms, timeZone);
  return zonedToMs(p.year, p.month, p.day - (p.weekday - 1) + weeks * 7, 0, 0, timeZone);
}

/** `YYYY-MM-DDTHH:MM` (an `<input type=datetime-local>` value) in `timeZone`, and back. */
export function toLocalInput(ms: number, timeZone: string): string {
  const p = zonedParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

export function fromLocalInput(value: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  return zonedToMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), timeZone);
}
