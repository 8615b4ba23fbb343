import { Age, AlertStatus, SeverityBadge, Snapshot } from '../components.js';
import { t, tOr } from '../i18n/index.js';
import { conditionCleared } from '../labels.js';
import type { Paging, ScreenAlert } from '../screen-alerts.js';

/** "门已关闭 03:12": the alarm's condition cleared, but a person still has to sign it off. */
export const clearedLabel = (a: ScreenAlert): string | null => (a.state === 'resolved' ? null : conditionCleared(a));

/**
 * One alert on a big screen, a touch target that opens the alert's panel: level, what, where, (the
 * estate when the screen shows several), age, who has it, whether its condition cleared.
 */
export function ScreenAlertRow(props: {
  alert: ScreenAlert;
  now: number;
  names: (actor?: string, name?: string) => string;
  showEstate?: boolean;
  compact?: boolean;
  thumb?: boolean;
  selected?: boolean;
  onOpen?: (a: ScreenAlert) => void;
}) {
  const a = props.alert;
  const snap = a.snapshots?.[a.snapshots.length - 1];
  const cleared = clearedLabel(a);
  const open = props.onOpen;
  const where = [a.deviceName ?? a.device, props.showEstate ? (a.estateName ?? a.estate) : null].filter(Boolean).join(' · ');
  return (
    <li
      class={`alert-row sev-row-${a.severity} ${a.state} ${props.compact ? 'compact' : ''} ${props.selected ? 'selected' : ''} ${open ? 'clickable' : ''}`}
      data-alert-id={a.id}
      data-state={a.state}
      data-estate={a.estate}
      {...(open
        ? {
            role: 'button',
            tabIndex: 0,
            'aria-label': t('panel.open', { what: `${tOr('rule', a.rule)} · ${where}` }),
            onClick: () => open(a),
            onKeyDown: (e: KeyboardEvent) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                open(a);
              }
            },
          }
        : {})}
    >
      <div class="alert-text">
        <p class="alert-head">
          <SeverityBadge severity={a.severity} /> <b>{tOr('rule', a.rule)}</b> <span class="device">{where}</span>
          {(a.count ?? 1) > 1 && <span class="muted"> · {t('alert.count', { n: a.count ?? 1 })}</span>}
        </p>
        <p class="alert-meta">
          <Age at={a.state === 'resolved' && a.resolvedAt ? a.resolvedAt : a.openedAt} now={props.now} /> · <AlertStatus alert={a} names={props.names} />
          {!props.compact && ((a.level ?? 0) > 0 || props.showEstate) && a.state !== 'resolved' && <span class="level"> · {tOr('screen.reached', String(Math.min(3, a.level ?? 0)))}</span>}
          {!props.compact && a.assignee && a.state !== 'resolved' && <span class="assignee"> · {t('screen.assignedTo', { who: props.names(a.assignee, a.assigneeName) })}</span>}
          {cleared && <span class="cleared"> · {cleared}</span>}
        </p>
      </div>
      {props.thumb && !props.compact && snap && <Snapshot snap={snap} class="thumb" />}
    </li>
  );
}

/** "+N more · page 1/3" with buttons, under a paged list; nothing when everything fits. */
export function Pager(props: { paging: Paging<unknown> }) {
  const p = props.paging;
  if (p.pages <= 1) return null;
  return (
    <div class="pager" data-testid="pager">
      <span class="more">{t('screen.more', { n: p.more })}</span>
      <span class="muted">{t('screen.page', { page: p.page + 1, pages: p.pages })}</span>
      <span class="spacer" />
      <button type="button" class="btn small" onClick={p.prev} aria-label={t('screen.prev')}>
        ‹
      </button>
      <button type="button" class="btn small" onClick={p.next} aria-label={t('screen.next')} data-testid="pager-next">
        ›
      </button>
    </div>
  );
}
