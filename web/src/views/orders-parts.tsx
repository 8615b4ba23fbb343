import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDateTime } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { photoBlob, SOURCE_ICON, type OrderPhotoRef, type WorkOrderView } from '../orders.js';
import '../orders.css';

/**
 * The small pieces every work-order screen shows (issue 19): state, tier and source badges, the
 * deadline countdown (or the overdue mark), where it is, and photos as thumbnails that open large.
 * Every text from the hub or a resident goes in as a text node (Preact escapes it).
 */

export function StateBadge(props: { order: WorkOrderView }) {
  return (
    <span class={`o-state o-state-${props.order.state}`} data-testid="order-state" data-state={props.order.state}>
      {tOr('orders.state', props.order.state)}
    </span>
  );
}

export function TierBadge(props: { order: WorkOrderView }) {
  return (
    <span class={`o-tier o-tier-${props.order.tier}`} data-testid="order-tier" data-tier={props.order.tier}>
      {tOr('orders.tier', props.order.tier)}
    </span>
  );
}

export function SourceLabel(props: { order: WorkOrderView }) {
  const s = props.order.source;
  return (
    <span class={`o-source o-source-${s}`} data-testid="order-source" data-source={s}>
      <span aria-hidden="true">{SOURCE_ICON[s] ?? '•'}</span> {tOr('orders.source', s)}
    </span>
  );
}

/** "3 天" / "02:14:05": time until (or since) a deadline, coarse above a day. */
export function formatLeft(ms: number): string {
  const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  if (s >= 86_400) return t('orders.days', { n: Math.floor(s / 86_400) });
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

/** The deadline: a countdown while it runs, an overdue mark once passed (or when the hub says so). */
export function Deadline(props: { order: WorkOrderView; now: number }) {
  const o = props.order;
  if (o.state === 'resolved' || o.state === 'closed' || !o.deadlineAt) {
    return o.overdue ? <span class="o-deadline overdue" data-testid="order-deadline">{t('orders.overdue')}</span> : null;
  }
  const left = o.deadlineAt - props.now;
  const overdue = o.overdue || left <= 0;
  return (
    <span class={`o-deadline ${overdue ? 'overdue' : left < 3_600_000 ? 'soon' : ''}`} data-testid="order-deadline" data-overdue={overdue ? 'true' : 'false'} title={t('orders.deadline', { time: formatDateTime(o.deadlineAt) })}>
      {overdue ? t('orders.overdueBy', { time: formatLeft(left) }) : t('orders.left', { time: formatLeft(left) })}
    </span>
  );
}

/** Building and unit, when given. */
export function where(o: WorkOrderView): string {
  if (o.building && o.unit) return t('orders.where', { building: o.building, unit: o.unit });
  return [o.building, o.unit].filter(Boolean).join(' · ');
}

/** The line under an order's title: number, category, place. */
export function OrderMeta(props: { order: WorkOrderView; estate?: boolean }) {
  const o = props.order;
  const place = where(o);
  return (
    <p class="o-meta">
      <span class="o-no">{o.no}</span> · {tOr('orders.cat', o.category)}
      {props.estate && (o.estateName ?? o.estate) && <> · {o.estateName ?? o.estate}</>}
      {place && <> · {place}</>}
    </p>
  );
}

function PhotoImg(props: { photo: OrderPhotoRef; class: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    photoBlob(props.photo).then(
      (u) => live && setSrc(u),
      () => live && setFailed(true),
    );
    return () => void (live = false);
  }, [props.photo.url]);
  if (failed) return <span class={`${props.class} empty`}>{t('alert.snapshotFailed')}</span>;
  if (!src) return <span class={`${props.class} empty`}>{t('loading')}</span>;
  return <img class={props.class} src={src} alt={t('orders.photo')} data-photo-id={props.photo.id} />;
}

/** Thumbnails; a click opens the photo as large as the screen allows (Escape or the button closes). */
export function PhotoThumbs(props: { photos: OrderPhotoRef[] }) {
  const [open, setOpen] = useState<OrderPhotoRef | null>(null);
  if (props.photos.length === 0) return null;
  return (
    <div class="o-photos" data-testid="order-photos">
      {props.photos.map((p) => (
        <button key={p.id} type="button" class="o-thumb" onClick={() => setOpen(p)} aria-label={t('orders.openPhoto')} data-testid="order-thumb">
          <PhotoImg photo={p} class="o-thumb-img" />
        </button>
      ))}
      {open && <PhotoBox photo={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

function PhotoBox(props: { photo: OrderPhotoRef; onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useEffect(() => {
    close.current?.focus();
    // Capture phase, stopped there: Escape closes the photo, not also the drawer holding it.
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      onClose.current();
    };
    addEventListener('keydown', onKey, true);
    return () => removeEventListener('keydown', onKey, true);
  }, []);
  return (
    <div class="lightbox" role="dialog" aria-modal="true" aria-label={t('orders.photo')} data-testid="order-photo-box">
      <div class="lightbox-stage">
        <PhotoImg photo={props.photo} class="o-photo-large" />
      </div>
      <div class="lightbox-bar">
        <button type="button" class="btn primary" ref={close} onClick={props.onClose}>
          {t('orders.closePhoto')}
        </button>
      </div>
    </div>
  );
}
