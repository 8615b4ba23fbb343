import { useMemo } from 'preact/hooks';
import { describeError } from '../api.js';
import { ErrorNote } from '../components.js';
import { t } from '../i18n/index.js';
import { byUrgency, type WorkOrderView } from '../orders.js';
import { session } from '../session.js';
import { OrderDetail } from './orders-detail.js';
import { Deadline, OrderMeta, SourceLabel, StateBadge, TierBadge } from './orders-parts.js';

/**
 * The phone's 工单 tab (360×740, the volunteer on duty): the open orders of the estates in scope, live,
 * mine and overdue first; a card opens the order's page (`/me?order=<id>`), where the volunteer takes
 * it, starts, and resolves it with a note and a photo from the camera. The list is held by PhoneView
 * (web/src/orders.ts useOrders) so the tab's count stays live on every tab.
 */
export function PhoneOrders(props: { orders: WorkOrderView[]; error: unknown; reload: () => void; now: number; showEstate: boolean; onOpen: (id: string) => void }) {
  const me = session.value?.user.id;
  const sorted = useMemo(() => props.orders.slice().sort((a, b) => Number(b.assigneeUser === me) - Number(a.assigneeUser === me) || byUrgency(a, b)), [props.orders, me]);
  return (
    <section aria-labelledby="h-orders" data-testid="phone-orders">
      <h2 id="h-orders">
        {t('orders.title')} <span class="count">{sorted.length}</span>
      </h2>
      <ErrorNote what={t('orders.title')} error={props.error ? describeError(props.error) : null} onRetry={props.reload} />
      {sorted.length === 0 && !props.error && <p class="muted">{t('orders.noneOpen')}</p>}
      <ul class="cards">
        {sorted.map((o) => (
          <li key={o.id} class={`card o-card ${o.overdue ? 'overdue' : ''}`} data-order-id={o.id} data-state={o.state}>
            <p class="o-badges">
              <StateBadge order={o} /> <TierBadge order={o} /> <SourceLabel order={o} />
            </p>
            <p class="o-title" data-testid="order-title">
              {o.title}
            </p>
            <OrderMeta order={o} estate={props.showEstate} />
            <p class="alert-meta">
              <Deadline order={o} now={props.now} />
              {o.assigneeUser === me && <> · {t('orders.assignee', { who: t('actor.me') })}</>}
            </p>
            <button type="button" class="btn ghost details" onClick={() => props.onOpen(o.id)} data-testid="order-open">
              {t('orders.details')} ›
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** One order as a phone page. */
export function PhoneOrder(props: { id: string; initial?: WorkOrderView; onClose: () => void; onChange: (o: WorkOrderView) => void }) {
  return <OrderDetail key={props.id} id={props.id} initial={props.initial} size="compact" onClose={props.onClose} onChange={props.onChange} />;
}
