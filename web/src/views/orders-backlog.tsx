import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { t } from '../i18n/index.js';
import { useLive, useSync } from '../live.js';
import { loadBacklog, ORDER_NEW, ORDER_UPDATE, type OrderBacklog } from '../orders.js';
import type { Density } from './street-grid.js';

/**
 * A read of work-order figures that pushes do not carry: read when the live link resyncs, again at
 * most `afterChangeMs` after an order changes, and every `everyMs` (orders pass their deadlines with
 * time, not with pushes). A failed read keeps the last answer and says what failed.
 */
export function useOrdersRead<T>(read: () => Promise<T>, afterChangeMs: number, everyMs: number): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    read().then(
      (d) => (setData(d), setError(null)),
      (err) => setError(err),
    );
  useSync([], load);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const soon = () => {
    if (!timer.current) timer.current = setTimeout(() => ((timer.current = undefined), void load()), afterChangeMs);
  };
  useLive(ORDER_NEW, soon);
  useLive(ORDER_UPDATE, soon);
  useEffect(() => {
    const id = setInterval(() => void load(), everyMs);
    return () => (clearInterval(id), clearTimeout(timer.current));
  }, []);
  return { data, error: error === null ? null : describeError(error) };
}

const NO_BACKLOG: ReadonlyMap<string, OrderBacklog> = new Map();
const backlogByEstate = async (): Promise<ReadonlyMap<string, OrderBacklog>> => new Map((await loadBacklog()).map((b) => [b.estate, b]));

/** The street overview's work-order backlog per estate (`GET /work-orders/backlog`): re-read 2 s after order pushes and every minute. */
export function useBacklog(): { by: ReadonlyMap<string, OrderBacklog>; error: string | null } {
  const r = useOrdersRead(backlogByEstate, 2_000, 60_000);
  return { by: r.data ?? NO_BACKLOG, error: r.error };
}

/** One tile's backlog: open and overdue, and by tier where the tile has room. Nothing open: said only on big tiles. */
export function BacklogLine(props: { backlog: OrderBacklog; density: Density }) {
  const b = props.backlog;
  const d = props.density;
  if (b.open === 0 && b.overdue === 0 && d !== 'xl') return null;
  if (d === 's') return b.overdue > 0 ? <p class="o-backlog overdue" data-testid="backlog" data-open={b.open} data-overdue={b.overdue}>⏰ {b.overdue}</p> : null;
  return (
    <p class={`o-backlog ${b.overdue > 0 ? 'overdue' : ''}`} data-testid="backlog" data-open={b.open} data-overdue={b.overdue}>
      <span class="label">{t('orders.backlog')}</span> {t('orders.backlogLine', { open: b.open, overdue: b.overdue })}
      {(d === 'xl' || d === 'l') && b.open > 0 && <span class="muted"> · {t('orders.backlogTiers', { grid: b.byTier.grid ?? 0, community: b.byTier.community ?? 0, street: b.byTier.street ?? 0 })}</span>}
    </p>
  );
}
