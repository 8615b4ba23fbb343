import { useState } from 'preact/hooks';
import type { OrderNotify } from '../../../protocol/live.js';
import { t } from '../i18n/index.js';
import { useLive } from '../live.js';

/** At most this many notices stay on screen; the oldest goes first. */
const KEEP = 3;

/**
 * `order:notify` (hub/orders/deadlines-sweep.ts): a work order passed its deadline and moved up to a
 * tier that reaches this person. A notice they can act on (查看 opens the order) or put away; it stays
 * until then, because an escalation is exactly what should not scroll past unseen.
 */
export function OrderNotices(props: { onOpen: (order: OrderNotify['order']) => void }) {
  const [notices, setNotices] = useState<OrderNotify[]>([]);
  useLive<OrderNotify>('order:notify', (n) => {
    setNotices((list) => [n, ...list.filter((x) => x.order.id !== n.order.id)].slice(0, KEEP));
    navigator.vibrate?.(200);
  });
  const drop = (id: string) => setNotices((list) => list.filter((x) => x.order.id !== id));
  if (notices.length === 0) return null;
  return (
    <ul class="order-notices" aria-live="assertive" data-testid="order-notices">
      {notices.map((n) => (
        <li key={n.order.id} class="order-notice" role="alert" data-testid="order-notice" data-order-id={n.order.id} data-tier={n.tier}>
          <span class="what">
            {t('orders.notice', {
              no: n.order.no,
              tier: t(`orders.tier.${n.tier}`),
              estate: n.order.estateName ?? n.order.estate,
              category: t(`orders.cat.${n.order.category}`),
            })}
          </span>
          <button
            type="button"
            class="btn primary"
            data-testid="order-notice-open"
            onClick={() => {
              drop(n.order.id);
              props.onOpen(n.order);
            }}
          >
            {t('orders.openOrder')}
          </button>
          <button type="button" class="btn" data-testid="order-notice-dismiss" onClick={() => drop(n.order.id)}>
            {t('orders.noticeDismiss')}
          </button>
        </li>
      ))}
    </ul>
  );
}
