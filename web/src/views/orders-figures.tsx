import type { OrderFigures } from '../../../protocol/work-orders.js';
import { api } from '../api.js';
import { formatDuration } from '../format.js';
import { t } from '../i18n/index.js';
import { useOrdersRead } from './orders-backlog.js';

/** Figures change slowly: re-read at most every 10 s after an order changes, and every 5 minutes. */
const AFTER_CHANGE_MS = 10_000;
const EVERY_MS = 300_000;

const readFigures = (): Promise<OrderFigures> => api<OrderFigures>('/api/v1/work-orders/figures');

/** The street's work-order figures (`GET /work-orders/figures`, the last 12 months by the hub's default). */
export function useOrderFigures(): { figures: OrderFigures | null; error: string | null } {
  const r = useOrdersRead(readFigures, AFTER_CHANGE_MS, EVERY_MS);
  return { figures: r.data, error: r.error };
}

const pct = (v: number | null): string => (v === null ? t('none') : `${v}%`);
const ARROW = { up: '↑', down: '↓', flat: '→' } as const;

/** One line of tiles: orders, 12345 this month with its trend, median time to resolve, deadlines met, satisfied, whistles missed. */
export function OrderFiguresSection(props: { figures: OrderFigures }) {
  const f = props.figures.total;
  const h = f.hotline;
  const w = f.whistles;
  const trend = h.changePct === null ? '' : ` ${ARROW[h.trend]}${Math.abs(h.changePct)}%`;
  return (
    <section class="response order-figures" aria-labelledby="h-order-figures" data-testid="order-figures">
      <h2 id="h-order-figures">{t('orders.figures')}</h2>
      <dl class="counts wide">
        <div>
          <dt>{t('orders.figures.orders')}</dt>
          <dd data-testid="figures-orders">{f.orders}</dd>
        </div>
        <div class={h.trend === 'up' ? 'worse' : h.trend === 'down' ? 'better' : ''}>
          <dt>{t('orders.figures.hotline')}</dt>
          <dd data-testid="figures-hotline" data-trend={h.trend}>
            {h.thisMonth}
            <small>{trend}</small>
          </dd>
        </div>
        <div>
          <dt>{t('orders.figures.medianResolve')}</dt>
          <dd>{formatDuration(f.medianResolveMs === null ? null : f.medianResolveMs / 1000)}</dd>
        </div>
        <div>
          <dt>{t('orders.figures.deadlinesMet')}</dt>
          <dd data-testid="figures-deadlines">{pct(f.deadlinesMetPct)}</dd>
        </div>
        <div>
          <dt>{t('orders.figures.satisfied')}</dt>
          <dd data-testid="figures-satisfied">{pct(f.satisfiedPct)}</dd>
        </div>
      </dl>
      {w && w.whistles > 0 && (
        <p class="muted" data-testid="figures-whistles">
          {t('orders.figures.whistles', { n: w.whistles, checkedIn: w.checkedIn, missed: w.missed })}
        </p>
      )}
    </section>
  );
}
