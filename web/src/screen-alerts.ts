import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { lang } from './i18n/index.js';
import type { Alert } from './types.js';

/** Alerts as the big screens show them: the hub's alert view (names of estate, device, people; conditionClearedAt). */
export type ScreenAlert = Alert;

const WAITING: Record<string, number> = { escalated: 0, open: 0, acknowledged: 1, resolved: 2 };

/**
 * The order a desk works in: what nobody has acknowledged yet before what someone has, then severity
 * (highest first), then age (the longest waiting first).
 */
export function byUrgency(a: ScreenAlert, b: ScreenAlert): number {
  return (WAITING[a.state] ?? 9) - (WAITING[b.state] ?? 9) || b.severity - a.severity || a.openedAt - b.openedAt || (a.id < b.id ? -1 : 1);
}

const TURN_MS = 15_000;
const IDLE_MS = 60_000;
let lastInput = Date.now();
for (const type of ['pointerdown', 'keydown', 'wheel']) addEventListener(type, () => (lastInput = Date.now()), { capture: true, passive: true });

export interface Paging<T> {
  /** The rows of the current page. */
  rows: T[];
  page: number;
  pages: number;
  /** Rows not on this page. */
  more: number;
  next: () => void;
  prev: () => void;
}

/**
 * Split `items` into pages that fit the list element (no scrolling on a wall screen): rows are measured
 * after layout, so rows of different heights and any screen size work. `listRef` is the list whose
 * height is fixed by the layout (flex: 1; min-height: 0; overflow: hidden).
 */
export function usePaging<T>(items: T[], listRef: RefObject<HTMLElement | null>, opts: { paused?: boolean } = {}): Paging<T> {
  const [per, setPer] = useState(8);
  const [page, setPage] = useState(0);
  const [height, setHeight] = useState(0);

  // A wall screen nobody touches still shows every page: turn one every TURN_MS once idle, not while
  // someone works on it (a panel open, or input within IDLE_MS).
  const paused = useRef(false);
  paused.current = !!opts.paused;
  useEffect(() => {
    const id = setInterval(() => {
      if (paused.current || Date.now() - lastInput < IDLE_MS) return;
      setPage((p) => p + 1);
    }, TURN_MS);
    return () => clearInterval(id);
  }, []);

  useEffect(() => {
    const el = listRef.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const pages = Math.max(1, Math.ceil(items.length / per));
  const current = page % pages;
  const start = current * per;
  const rows = items.slice(start, start + per);

  // After layout: how many of the rendered rows fit? Fewer than rendered → shrink; room left over and
  // more items → grow by what the free space holds at the tallest row's height. A size that did not
  // fit is not tried again for the same list (rows of different heights must not make it flicker).
  const cap = useRef({ key: '', max: Infinity });
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el || el.clientHeight === 0) return;
    const key = `${el.clientHeight}/${items.length}`;
    if (cap.current.key !== key) cap.current = { key, max: Infinity };
    const kids = [...el.children] as HTMLElement[];
    const top = el.getBoundingClientRect().top;
    let fit = 0;
    let last = 0;
    let tallest = 0;
    for (const k of kids) {
      const r = k.getBoundingClientRect();
      if (r.bottom - top > el.clientHeight + 1) break;
      fit++;
      last = r.bottom - top;
      tallest = Math.max(tallest, r.height);
    }
    if (fit < kids.length) {
      cap.current.max = Math.max(1, fit);
      setPer(Math.max(1, fit));
    } else if (items.length > start + kids.length && kids.length > 0) {
      const room = Math.floor((el.clientHeight - last) / Math.max(tallest + 8, 1));
      const want = Math.min(per + room, cap.current.max);
      if (want > per) setPer(want);
    }
  }, [items, per, current, height, lang.value]);

  return {
    rows,
    page: current,
    pages,
    more: items.length - rows.length,
    next: () => setPage((p) => ((p % pages) + 1) % pages),
    prev: () => setPage((p) => ((p % pages) - 1 + pages) % pages),
  };
}
