import { useEffect, useState } from 'preact/hooks';
import { serverNow } from './clock.js';
import { lang, t } from './i18n/index.js';

/**
 * Times in the viewer's own time zone: Intl without a `timeZone` option uses the browser's.
 * Formatters are cached per language.
 */
const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(kind: 'time' | 'datetime'): Intl.DateTimeFormat {
  const key = `${lang.value}/${kind}`;
  let f = cache.get(key);
  if (!f) {
    f =
      kind === 'time'
        ? new Intl.DateTimeFormat(lang.value, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
        : new Intl.DateTimeFormat(lang.value, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
    cache.set(key, f);
  }
  return f;
}

export const formatTime = (ms: number): string => fmt('time').format(ms);
export const formatDateTime = (ms: number): string => fmt('datetime').format(ms);

/** "3 minutes ago" in the viewer's language; never in the future (a time past `now` reads "now"). */
export function formatAge(ms: number, now: number): string {
  const s = Math.min(0, Math.round((ms - now) / 1000));
  const rtf = new Intl.RelativeTimeFormat(lang.value, { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86_400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86_400), 'day');
}

/** A duration in seconds, coarse ("45 s", "12 min", "3 h"); "—" when unknown. */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return t('none');
  if (s < 90) return t('dur.s', { n: Math.round(s) });
  if (s < 5400) return t('dur.m', { n: Math.round(s / 60) });
  return t('dur.h', { n: Math.round(s / 360) / 10 });
}

/** The hub's current time (clock.ts), re-read every `stepMs` so ages and clocks move. */
export function useNow(stepMs = 1_000): number {
  const [now, setNow] = useState(serverNow());
  useEffect(() => {
    const id = setInterval(() => setNow(serverNow()), stepMs);
    return () => clearInterval(id);
  }, [stepMs]);
  return now;
}
