import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api.js';
import { ErrorNote } from '../components.js';
import { formatDateTime, formatTime, useNow } from '../format.js';
import { lang, t, tOr } from '../i18n/index.js';
import { useLive, useLiveState, useSync } from '../live.js';
import { departmentName, fullPhone, loadOrder, OPEN_STATES, ORDER_UPDATE, type OrderStepView, type WhistleView, type WorkOrderView } from '../orders.js';
import { actorName, toPeople, type Person } from '../people.js';
import { session } from '../session.js';
import { OrderActions } from './orders-actions.js';
import { departments, WhistleControl } from './orders-hotline.js';
import { Deadline, OrderMeta, PhotoThumbs, SourceLabel, StateBadge, TierBadge } from './orders-parts.js';

/**
 * One work order, everything about it, and what can be done with it: facts (number, category, source,
 * tier, deadline, place, phone — masked unless the center asks for the full number, which the hub
 * audits), the description as text, whistles, the steps with their notes and photos, and the actions.
 * `size="compact"` is a phone page; `large` the command center's drawer. Kept live: an `order:update`
 * for this order is shown at once and the steps reloaded. Render it with `key={id}`.
 */
export function OrderDetail(props: { id: string; initial?: WorkOrderView; size?: 'compact' | 'large'; onClose?: () => void; onChange?: (o: WorkOrderView) => void }) {
  const now = useNow(1_000);
  // Pushed changes that come while a load is on its way are kept on top of its answer (web/src/live-state.ts).
  const [order, orderLive] = useLiveState<WorkOrderView | undefined>(props.initial);
  const [error, setError] = useState<unknown>(null);
  const [candidates, setCandidates] = useState<Person[]>([]);
  const role = session.value?.user.role;
  const desk = role === 'center' || role === 'admin';

  const load = async () => {
    try {
      await orderLive.load(() => loadOrder(props.id));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useSync([], load);
  const estate = order?.estate;
  useEffect(() => {
    if (!estate || !desk) return;
    api<unknown>(`/api/v1/roster/people?estate=${encodeURIComponent(estate)}`).then((r) => setCandidates(toPeople(r)), () => setCandidates([]));
  }, [estate, desk]);
  useLive<WorkOrderView>(ORDER_UPDATE, (o) => {
    if (o.id !== props.id) return;
    orderLive.change((d) => ({ ...d, ...o, steps: d?.steps, whistles: o.whistles ?? d?.whistles }));
    void load();
  });
  const changed = (o: WorkOrderView) => {
    orderLive.change((d) => ({ ...d, ...o, steps: o.steps ?? d?.steps }));
    props.onChange?.(o);
    void load();
  };

  const missing = error instanceof ApiError && error.status === 404;
  const names = (actor: string, name?: string | null) =>
    actor === 'resident' ? t('orders.actor.resident') : actor.startsWith('department:') ? (name ?? departmentName(actor.slice(11), lang.value === 'en')) : actorName(actor, candidates, session.value?.user, name ?? undefined) || t('tl.system');

  return (
    <article class={`o-detail ${props.size ?? 'compact'}`} data-order-id={props.id} data-state={order?.state} data-testid="order-detail">
      {props.onClose && (
        <button type="button" class="btn ghost back" onClick={props.onClose}>
          ‹ {t('orders.back')}
        </button>
      )}
      {missing ? <p class="error" role="alert">{t('orders.notFound')}</p> : <ErrorNote what={t('orders.details')} error={error ? describeError(error) : null} onRetry={() => void load()} />}
      {!order && !error && <p class="muted">{t('loading')}</p>}
      {order && (
        <>
          <Facts o={order} now={now} desk={desk} names={names} />
          <OrderActions order={order} onChange={changed} candidates={candidates} departments={desk ? departments() : []} />
          {desk && OPEN_STATES.includes(order.state) && <WhistleControl order={order} onDone={() => void load()} />}
          {(order.whistles?.length ?? 0) > 0 && <Whistles items={order.whistles!} now={now} />}
          <Steps steps={order.steps ?? []} names={names} />
        </>
      )}
    </article>
  );
}

function Facts(props: { o: WorkOrderView; now: number; desk: boolean; names: (actor: string, name?: string | null) => string }) {
  const o = props.o;
  const assignee = o.assigneeUser ? props.names(`user:${o.assigneeUser}`, o.assigneeName) : o.assigneeDept ? departmentName(o.assigneeDept, lang.value === 'en') : null;
  return (
    <header class="o-facts">
      <h2 class="o-title" data-testid="order-title">
        {o.title}
      </h2>
      <p class="o-badges">
        <StateBadge order={o} /> <TierBadge order={o} /> <SourceLabel order={o} /> <Deadline order={o} now={props.now} />
      </p>
      <OrderMeta order={o} estate />
      <p class="o-description" data-testid="order-description">
        {o.description}
      </p>
      <p class="alert-meta">
        {t('orders.createdAt', { time: formatDateTime(o.createdAt) })}
        {o.deadlineAt && o.state !== 'resolved' && o.state !== 'closed' && <> · {t('orders.deadline', { time: formatDateTime(o.deadlineAt) })}</>}
        {' · '}
        <span data-testid="order-assignee">{assignee ? t('orders.assignee', { who: assignee }) : t('orders.unassigned')}</span>
      </p>
      {o.externalNo && <p class="alert-meta">{t('orders.externalNo', { no: o.externalNo })}</p>}
      {o.phone && <Phone o={o} desk={props.desk} />}
      {o.rating && <p class="alert-meta">{t('orders.ratingIs', { rating: tOr('orders.rating', o.rating) })}</p>}
    </header>
  );
}

/** The reporter's number as the hub sends it (masked for volunteers); the center may ask for the full one. */
function Phone(props: { o: WorkOrderView; desk: boolean }) {
  const [full, setFull] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const show = () =>
    fullPhone(props.o.id).then(
      (p) => (setFull(p), setError(null)),
      (err) => setError(err),
    );
  return (
    <p class="o-phone">
      {t('orders.phone')}:{' '}
      <span data-testid="order-phone">{full ?? props.o.phone}</span>
      {props.desk && full === null && (
        <button type="button" class="btn small" onClick={() => void show()} title={t('orders.phoneAudited')} data-testid="order-show-phone">
          {t('orders.showPhone')}
        </button>
      )}
      {error !== null && <span class="error">{t('orders.failed', { detail: describeError(error) })}</span>}
    </p>
  );
}

/** Missed as soon as its check-in time passes without one (the hub's view says so on its next read). */
function Whistles(props: { items: WhistleView[]; now: number }) {
  return (
    <section class="o-whistles" aria-label={t('orders.whistles')} data-testid="order-whistles">
      <h3>{t('orders.whistles')}</h3>
      <ul>
        {props.items.map((w) => {
          const missed = w.missed || (!w.checkedInAt && props.now > w.checkInBy);
          return (
            <li key={w.id} data-missed={missed ? 'true' : 'false'} class={missed ? 'missed' : ''}>
              <time>{formatTime(w.whistledAt)}</time> <b>{w.departmentName}</b>{' '}
              {w.checkedInAt ? t('orders.whistleCheckedIn', { time: formatTime(w.checkedInAt) }) : missed ? <span class="o-deadline overdue">{t('orders.whistleMissed')}</span> : t('orders.whistleWaiting', { time: formatTime(w.checkInBy) })}
              {w.report && <span class="note">{w.report}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Steps(props: { steps: OrderStepView[]; names: (actor: string, name?: string | null) => string }) {
  if (props.steps.length === 0) return null;
  const steps = [...props.steps].sort((a, b) => a.at - b.at);
  return (
    <section class="o-steps" aria-label={t('orders.steps')} data-testid="order-steps">
      <h3>{t('orders.steps')}</h3>
      <ol>
        {steps.map((s) => (
          <li key={s.id} data-action={s.action}>
            <time dateTime={new Date(s.at).toISOString()}>{formatTime(s.at)}</time>
            <span class="what">
              {tOr('orders.step', s.action)} · {props.names(s.actor, s.actorName)}
              {s.toState && s.toState !== s.fromState && <> → {tOr('orders.state', s.toState)}</>}
              {s.action === 'escalated' && s.tier && <> → {tOr('orders.tier', s.tier)}</>}
            </span>
            {s.note && <span class="note">{s.note}</span>}
            {s.photos.length > 0 && <PhotoThumbs photos={s.photos} />}
          </li>
        ))}
      </ol>
    </section>
  );
}
