import { useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { t } from '../i18n/index.js';
import { orderFromAlert, type WorkOrderView } from '../orders.js';
import { navigate, route } from '../router.js';
import { session } from '../session.js';

/** Where an order is shown: the phone's order page, or the estate's command center with its drawer open. */
export function orderHref(o: Pick<WorkOrderView, 'id' | 'estate'>): string {
  return route.value.name === 'me' ? `/me?order=${o.id}` : `/estate/${o.estate}?order=${o.id}`;
}

/**
 * 转工单 (issue 19): turn an alert into a work order (`POST /work-orders/from-alert/:alertId`), then
 * link to the order. Says which order it became, or the hub's error in words.
 */
export function ToOrderButton(props: { alertId: string }) {
  const [busy, setBusy] = useState(false);
  const [order, setOrder] = useState<WorkOrderView | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (session.value?.user.role === 'patrol') return null;
  const href = order ? orderHref(order) : '';
  return (
    <div class="o-to-order" data-testid="to-order">
      {order ? (
        <p class="notice ok" role="status">
          <span data-testid="to-order-done">{t('orders.toOrderDone', { no: order.no })}</span>{' '}
          <a
            class="btn small"
            href={href}
            data-testid="to-order-open"
            onClick={(ev) => {
              if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
              ev.preventDefault();
              navigate(href);
            }}
          >
            {t('orders.openOrder')} ›
          </a>
        </p>
      ) : (
        <button
          type="button"
          class="btn"
          disabled={busy}
          data-testid="to-order-button"
          onClick={() => {
            setBusy(true);
            setError(null);
            orderFromAlert(props.alertId)
              .then(setOrder, setError)
              .finally(() => setBusy(false));
          }}
        >
          {t('orders.toOrder')}
        </button>
      )}
      {error !== null && (
        <p class="error" role="alert">
          {t('orders.failed', { detail: describeError(error) })}
        </p>
      )}
    </div>
  );
}
