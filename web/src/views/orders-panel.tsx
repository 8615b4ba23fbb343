import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { ErrorNote } from '../components.js';
import { t } from '../i18n/index.js';
import { byUrgency, CENTER_STATES, useOrders, type WorkOrderView } from '../orders.js';
import { usePaging, type Paging } from '../screen-alerts.js';
import { OrderDetail } from './orders-detail.js';
import { PhoneIntake } from './orders-intake.js';
import { ImportForm } from './orders-hotline.js';
import { session } from '../session.js';
import { Deadline, OrderMeta, SourceLabel, StateBadge, TierBadge } from './orders-parts.js';

type Drawer = { kind: 'order'; id: string } | { kind: 'intake' } | { kind: 'import' } | null;

/**
 * The command center's work-order panel (issue 19), beside the alerts: the estate's open orders and the
 * resolved ones waiting to be closed, live (`order:new` / `order:update`), overdue first; each with its
 * state, tier, source and deadline. A row opens the order in a drawer over the right edge; 来电登记
 * opens the phone-intake form there. `openId` (from 转工单 on an alert) opens that order; `alertOpen`
 * (an alert's panel opened) closes the drawer.
 */
export function OrdersPanel(props: { estate: string; now: number; openId?: string | null; onOpened?: () => void; onDrawer?: (open: boolean) => void; alertOpen?: boolean }) {
  const { orders, error, reload, onOrder } = useOrders(props.estate, [`estate:${props.estate}`], CENTER_STATES);
  const [drawer, setDrawer] = useState<Drawer>(null);
  const [created, setCreated] = useState<WorkOrderView | null>(null);
  const sorted = useMemo(() => orders.slice().sort(byUrgency), [orders]);
  const listRef = useRef<HTMLUListElement>(null);
  const paging = usePaging(sorted, listRef, { paused: drawer !== null });
  useEffect(() => {
    if (!props.openId) return;
    setDrawer({ kind: 'order', id: props.openId });
    props.onOpened?.();
  }, [props.openId]);
  useEffect(() => props.onDrawer?.(drawer !== null), [drawer !== null]);
  // One drawer at a time: an alert opened in its panel closes the order's.
  useEffect(() => void (props.alertOpen && setDrawer(null)), [props.alertOpen]);
  const overdue = orders.filter((o) => o.overdue || (o.deadlineAt && o.deadlineAt < props.now && o.state !== 'resolved')).length;
  const selected = drawer?.kind === 'order' ? drawer.id : null;
  const role = session.value?.user.role;
  const desk = role === 'center' || role === 'admin';

  return (
    <section class="panel orders" aria-labelledby="h-orders" data-testid="orders-panel">
      <h2 id="h-orders" class="o-head">
        <span>
          {t('orders.title')} <span class="count" data-testid="orders-count">{orders.length}</span>
        </span>
        {overdue > 0 && <span class="pill bad" data-testid="orders-overdue">{t('orders.overdueCount', { n: overdue })}</span>}
        <span class="spacer" />
        {desk && (
          <button type="button" class="btn small" onClick={() => setDrawer({ kind: 'import' })} data-testid="import-open">
            {t('orders.import')}
          </button>
        )}
        <button type="button" class="btn small" onClick={() => (setCreated(null), setDrawer({ kind: 'intake' }))} data-testid="intake-open">
          ☎ {t('orders.intake')}
        </button>
      </h2>
      <ErrorNote what={t('orders.title')} error={error ? describeError(error) : null} onRetry={() => void reload()} />
      {sorted.length === 0 && !error && <p class="muted">{t('orders.noneOpen')}</p>}
      <ul class="o-list" ref={listRef}>
        {paging.rows.map((o) => (
          <OrderRow key={o.id} order={o} now={props.now} selected={selected === o.id} onOpen={() => setDrawer({ kind: 'order', id: o.id })} />
        ))}
      </ul>
      <OrdersPager paging={paging} />
      {drawer && (
        <OrderDrawer onClose={() => setDrawer(null)} label={drawer.kind === 'intake' ? t('orders.intakeTitle') : drawer.kind === 'import' ? t('orders.importTitle') : t('orders.details')}>
          {drawer.kind === 'import' ? (
            <ImportForm onClose={() => setDrawer(null)} />
          ) : drawer.kind === 'intake' ? (
            <PhoneIntake
              estate={props.estate}
              onClose={() => setDrawer(null)}
              onCreated={(o) => {
                onOrder(o);
                setCreated(o);
                setDrawer({ kind: 'order', id: o.id });
              }}
            />
          ) : (
            <>
              {created?.id === drawer.id && (
                <p class="notice ok" role="status" data-testid="intake-done">
                  {t('orders.created', { no: created.no })}
                </p>
              )}
              <OrderDetail key={drawer.id} id={drawer.id} initial={orders.find((o) => o.id === drawer.id)} size="large" onChange={onOrder} />
            </>
          )}
        </OrderDrawer>
      )}
    </section>
  );
}

export function OrderRow(props: { order: WorkOrderView; now: number; selected?: boolean; onOpen: () => void; estate?: boolean }) {
  const o = props.order;
  return (
    <li
      class={`o-row-item ${o.overdue ? 'overdue' : ''} ${props.selected ? 'selected' : ''}`}
      data-order-id={o.id}
      data-state={o.state}
      data-source={o.source}
      tabIndex={0}
      role="button"
      aria-label={t('orders.details')}
      onClick={props.onOpen}
      onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), props.onOpen())}
    >
      <p class="o-badges">
        <StateBadge order={o} /> <TierBadge order={o} /> <SourceLabel order={o} /> <Deadline order={o} now={props.now} />
      </p>
      <p class="o-title" data-testid="order-title">
        {o.title}
      </p>
      <OrderMeta order={o} estate={props.estate} />
    </li>
  );
}

function OrdersPager(props: { paging: Paging<unknown> }) {
  const p = props.paging;
  if (p.pages <= 1) return null;
  return (
    <div class="pager" data-testid="orders-pager">
      <span class="more">{t('screen.more', { n: p.more })}</span>
      <span class="muted">{t('screen.page', { page: p.page + 1, pages: p.pages })}</span>
      <span class="spacer" />
      <button type="button" class="btn small" onClick={p.prev} aria-label={t('screen.prev')}>
        ‹
      </button>
      <button type="button" class="btn small" onClick={p.next} aria-label={t('screen.next')}>
        ›
      </button>
    </div>
  );
}

/** The drawer over the right edge (as the alert panel): Escape or ✕ closes it; the screen stays live. */
export function OrderDrawer(props: { label: string; onClose: () => void; children: ComponentChildren }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close.current();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  return (
    <aside class="o-drawer" aria-label={props.label} data-testid="order-drawer">
      <div class="panel-bar">
        <button type="button" class="btn ghost" ref={closeRef} onClick={props.onClose} aria-label={t('panel.close')} data-testid="order-drawer-close">
          ✕ {t('panel.close')}
        </button>
      </div>
      {props.children}
    </aside>
  );
}
