import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { navigate } from '../router.js';
import type { OverviewEstate } from '../types.js';
import type { OrderBacklog } from '../orders.js';
import { BacklogLine } from './orders-backlog.js';

export type Health = 'ok' | 'warn' | 'bad' | 'none';

/**
 * Red: a gateway down or a major/critical alert open. Amber: devices offline or minor alerts. Grey: no
 * gateway installed yet (nothing to judge by).
 */
export function healthOf(e: OverviewEstate): Health {
  const open = (s: '1' | '2' | '3' | '4') => e.openAlerts?.[s] ?? 0;
  if (e.gatewaysOnline < e.gatewaysTotal || open('3') + open('4') > 0) return 'bad';
  if (e.gatewaysTotal === 0) return 'none';
  if (e.devicesOffline > 0 || open('1') + open('2') > 0) return 'warn';
  return 'ok';
}

export const rank = (h: Health): number => ({ bad: 3, warn: 2, ok: 1, none: 0 })[h];

/** How much a tile can say: everything (in large type for a few estates), the essentials, or name and alarms only. */
export type Density = 'xl' | 'l' | 'm' | 's';

export interface GridLayout {
  cols: number;
  rows: number;
  /** Row height, px. */
  height: number;
  density: Density;
}

const GAP = 12;
/** Tiles are about this much wider than high; never higher than MAX_H (2 estates are not two walls). */
const ASPECT = 1.5;
const MAX_H = 420;

/**
 * Columns and rows that show `n` tiles in `w`×`h` without scrolling, as large as possible: from 2
 * estates (big tiles, every figure) to 60 and more (small tiles, name and alarms).
 */
export function gridLayout(n: number, w: number, h: number): GridLayout {
  let best = { cols: 1, rows: Math.max(1, n), score: -1 };
  // On a tie, more columns: side by side reads better than a stack on a wide screen.
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const tw = (w - GAP * (cols - 1)) / cols;
    const th = Math.min(MAX_H, (h - GAP * (rows - 1)) / rows);
    const score = Math.min(tw, th * ASPECT);
    if (score >= best.score) best = { cols, rows, score };
  }
  const tw = (w - GAP * (best.cols - 1)) / best.cols;
  const th = Math.max(44, Math.floor(Math.min(MAX_H, (h - GAP * (best.rows - 1)) / best.rows)));
  const density: Density = th >= 300 && tw >= 420 ? 'xl' : th >= 190 && tw >= 250 ? 'l' : th >= 118 && tw >= 170 ? 'm' : 's';
  return { cols: best.cols, rows: best.rows, height: th, density };
}

/** The grid for `n` tiles in the element, re-laid on every resize. */
export function useGridLayout(ref: RefObject<HTMLElement | null>, n: number): GridLayout {
  const [size, setSize] = useState({ w: 0, h: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return size.w > 0 ? gridLayout(n, size.w, size.h) : { cols: Math.min(4, Math.max(1, n)), rows: Math.ceil(n / 4), height: 120, density: 'm' };
}

const SEVERITIES = ['4', '3', '2', '1'] as const;

export function EstateTile(props: { estate: OverviewEstate; density: Density; backlog?: OrderBacklog }) {
  const e = props.estate;
  const health = healthOf(e);
  const href = `/estate/${e.id}`;
  const name = e.name ?? e.id;
  const open = (s: (typeof SEVERITIES)[number]) => e.openAlerts?.[s] ?? 0;
  const total = SEVERITIES.reduce((n, s) => n + open(s), 0);
  const d = props.density === 'xl' ? 'l' : props.density;
  return (
    <li class="estate-cell">
      <a
        class={`estate-tile health-${health} density-${props.density}`}
        href={href}
        data-estate={e.id}
        aria-label={t('street.open', { name })}
        onClick={(ev) => {
          if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
          ev.preventDefault();
          navigate(href);
        }}
      >
        <h3>{name}</h3>
        {d !== 's' && <p class="health-label">{t(`street.health.${health}`)}</p>}
        {d === 'l' && <p>{t('street.gateways', { online: e.gatewaysOnline, total: e.gatewaysTotal })}</p>}
        {d === 'l' && <p>{t('street.devicesOffline', { n: e.devicesOffline, total: e.devicesTotal })}</p>}
        {d === 'm' && <p class="muted">{t('street.gwShort', { online: e.gatewaysOnline, total: e.gatewaysTotal, off: e.devicesOffline })}</p>}
        {d === 'l' ? (
          <p class="sev-counts">
            <span class="label">{t('street.openAlerts')}</span>
            {SEVERITIES.map((s) => (
              <span key={s} class={`sev sev-${s} ${open(s) === 0 ? 'zero' : ''}`} title={t(`sev.${s}`)}>
                {t(`sev.${s}`)} {open(s)}
              </span>
            ))}
          </p>
        ) : (
          <p class="sev-counts" data-open={total}>
            {total === 0 ? (
              <span class="muted">{d === 's' ? t(`street.health.${health}`) : t('street.noOpen')}</span>
            ) : (
              SEVERITIES.filter((s) => open(s) > 0).map((s) => (
                <span key={s} class={`sev sev-${s}`} title={t(`sev.${s}`)}>
                  {open(s)}
                </span>
              ))
            )}
          </p>
        )}
        {props.backlog && <BacklogLine backlog={props.backlog} density={props.density} />}
      </a>
    </li>
  );
}
