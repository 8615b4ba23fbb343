import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n/index.js';
import type { Person } from '../people.js';
import type { Alert } from '../types.js';
import { AlertDetail } from './alert-detail.js';

/**
 * The acting side of the big screens (command center, street overview): a panel over the right edge
 * that holds the shared alert detail (web/src/views/alert-detail.tsx) at its large size, so the center
 * acknowledges, assigns, comments and resolves exactly as a volunteer does on the phone, by mouse or
 * touch. Escape or ✕ closes it; the screen behind stays live.
 */
export function AlertPanel(props: {
  alert: Alert;
  estateNames?: ReadonlyMap<string, string>;
  deviceNames?: ReadonlyMap<string, string>;
  people?: Person[];
  cameraLinked?: boolean | null;
  /** Linked cameras and what watching one does (the command center puts it on its wall). */
  cameras?: readonly string[];
  onWatch?: (camera: string) => void;
  onClose: () => void;
  onChange: (a: Alert) => void;
}) {
  const a = props.alert;
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => closeRef.current?.focus(), [a.id]);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close.current();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  return (
    <aside class="alert-panel" aria-label={t('alert.details')} data-testid="alert-panel" data-alert-id={a.id}>
      <div class="panel-bar">
        <button type="button" class="btn ghost" ref={closeRef} onClick={props.onClose} aria-label={t('panel.close')} data-testid="panel-close">
          ✕ {t('panel.close')}
        </button>
      </div>
      <AlertDetail
        key={a.id}
        id={a.id}
        initial={a}
        size="large"
        {...(props.estateNames ? { estateNames: props.estateNames } : {})}
        {...(props.deviceNames ? { deviceNames: props.deviceNames } : {})}
        {...(props.people ? { people: props.people } : {})}
        {...(props.cameraLinked !== undefined ? { cameraLinked: props.cameraLinked } : {})}
        {...(props.cameras && props.onWatch ? { cameras: props.cameras, onWatch: props.onWatch } : {})}
        onChange={props.onChange}
      />
    </aside>
  );
}
