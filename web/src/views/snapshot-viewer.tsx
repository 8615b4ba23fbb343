import { useEffect, useRef, useState } from 'preact/hooks';
import { snapshotBlob, Snapshot } from '../components.js';
import { t } from '../i18n/index.js';
import type { SnapshotRef } from '../types.js';

const MIN = 1;
const MAX = 6;
const clamp = (z: number): number => Math.min(MAX, Math.max(MIN, z));

/**
 * An alert's snapshots: the newest full width (its own aspect ratio, not stretched over a card),
 * older ones as thumbnails; a tap opens it full screen with zoom — pinch, wheel or +/−, drag to pan.
 */
export function SnapshotViewer(props: { snapshots: SnapshotRef[] }) {
  const list = props.snapshots;
  const [shown, setShown] = useState(list.length - 1);
  const [open, setOpen] = useState(false);
  const current = list[Math.min(shown, list.length - 1)];
  useEffect(() => setShown(list.length - 1), [list.length]);
  if (!current) return null;
  return (
    <div class="snapshots">
      <button type="button" class="snapshot-open" onClick={() => setOpen(true)} aria-label={t('alert.openPhoto')} data-testid="snapshot-open">
        <Snapshot snap={current} class="full" />
      </button>
      {list.length > 1 && (
        <div class="snapshot-strip">
          {list.map((s, i) => (
            <button key={s.sha256} type="button" class={`snapshot-pick${i === shown ? ' on' : ''}`} onClick={() => setShown(i)} aria-pressed={i === shown}>
              <Snapshot snap={s} class="mini" />
            </button>
          ))}
        </div>
      )}
      {open && <Lightbox snap={current} onClose={() => setOpen(false)} />}
    </div>
  );
}

function Lightbox(props: { snap: SnapshotRef; onClose: () => void }) {
  const [src, setSrc] = useState<string | null>(null);
  const [view, setView] = useState({ z: 1, x: 0, y: 0 });
  const pointers = useRef(new Map<number, { x: number; y: number }>());
  const pinch = useRef<{ dist: number; z: number } | null>(null);
  const close = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    let live = true;
    snapshotBlob(props.snap).then((u) => live && setSrc(u), () => undefined);
    close.current?.focus();
    // Capture phase, and stopped there: Escape closes the picture, not also the panel holding it.
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        props.onClose();
      }
      if (e.key === '+' || e.key === '=') zoom(1.5);
      if (e.key === '-') zoom(1 / 1.5);
    };
    addEventListener('keydown', onKey, true);
    return () => {
      live = false;
      removeEventListener('keydown', onKey, true);
    };
  }, [props.snap.sha256]);

  const zoom = (factor: number) => setView((v) => {
    const z = clamp(v.z * factor);
    return z === 1 ? { z, x: 0, y: 0 } : { ...v, z };
  });

  const distance = () => {
    const [p, q] = [...pointers.current.values()];
    return p && q ? Math.hypot(p.x - q.x, p.y - q.y) : 0;
  };

  return (
    <div class="lightbox" role="dialog" aria-modal="true" aria-label={t('alert.snapshot')} data-testid="lightbox">
      <div
        class="lightbox-stage"
        onWheel={(e) => {
          e.preventDefault();
          zoom(e.deltaY < 0 ? 1.25 : 0.8);
        }}
        onPointerDown={(e) => {
          (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
          pointers.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
          if (pointers.current.size === 2) pinch.current = { dist: distance(), z: view.z };
        }}
        onPointerMove={(e) => {
          const prev = pointers.current.get(e.pointerId);
          if (!prev) return;
          pointers.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
          if (pointers.current.size === 2 && pinch.current && pinch.current.dist > 0) {
            const z = clamp((pinch.current.z * distance()) / pinch.current.dist);
            setView((v) => (z === 1 ? { z, x: 0, y: 0 } : { ...v, z }));
          } else if (pointers.current.size === 1) {
            setView((v) => (v.z === 1 ? v : { ...v, x: v.x + e.clientX - prev.x, y: v.y + e.clientY - prev.y }));
          }
        }}
        onPointerUp={(e) => {
          pointers.current.delete(e.pointerId);
          if (pointers.current.size < 2) pinch.current = null;
        }}
        onPointerCancel={(e) => {
          pointers.current.delete(e.pointerId);
          pinch.current = null;
        }}
      >
        {src ? (
          <img src={src} alt={t('alert.snapshot')} draggable={false} style={{ transform: `translate(${view.x}px, ${view.y}px) scale(${view.z})` }} data-zoom={view.z.toFixed(2)} />
        ) : (
          <p class="muted">{t('loading')}</p>
        )}
      </div>
      <div class="lightbox-bar">
        <button type="button" class="btn" onClick={() => zoom(1 / 1.5)} disabled={view.z <= MIN} aria-label={t('alert.zoomOut')}>
          −
        </button>
        <button type="button" class="btn" onClick={() => setView({ z: 1, x: 0, y: 0 })} aria-label={t('alert.zoomReset')}>
          {Math.round(view.z * 100)}%
        </button>
        <button type="button" class="btn" onClick={() => zoom(1.5)} disabled={view.z >= MAX} aria-label={t('alert.zoomIn')}>
          +
        </button>
        <button type="button" class="btn primary" ref={close} onClick={props.onClose}>
          {t('alert.close')}
        </button>
      </div>
    </div>
  );
}
