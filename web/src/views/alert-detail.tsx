import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { Age, AlertStatus, ErrorNote, SeverityBadge } from '../components.js';
import { formatDateTime, formatTime, useNow } from '../format.js';
import { t, tOr, type MessageKey } from '../i18n/index.js';
import { conditionCleared, eventTokens } from '../labels.js';
import { useLive, useLiveState, useSync } from '../live.js';
import { actorName, toPeople, type Person } from '../people.js';
import { session } from '../session.js';
import type { Alert, AlertDetail as Detail, AlertNotification, LinkedEvent, TimelineEntry } from '../types.js';
import { AlertActions } from './alert-actions.js';
import { AlertClips } from './alert-clips.js';
import { SnapshotViewer } from './snapshot-viewer.js';
import { ToOrderButton } from './orders-from-alert.js';
import { LinkedCameras } from './camera-single.js';

/**
 * One alert, everything about it, and what can be done with it (issue 15 item 2): facts with estate
 * and device names, the condition clearing ("门已关闭 03:12"), snapshots full size with zoom, the
 * timeline (raised, repeats, who was notified at which level, acknowledgements, escalations,
 * assignments, comments, resolution), linked events in words, and acknowledge / assign / comment /
 * resolve. `size="compact"` fits a 360 px phone; `size="large"` a side panel of a 1920×1080 screen.
 * Kept live: an `alert:update` (or a snapshot) for this alert reloads the detail. Render it with
 * `key={id}`: it loads its alert once when mounted.
 */
export function AlertDetail(props: {
  id: string;
  /** What the list already knows, shown at once while the detail loads. */
  initial?: Alert;
  size?: 'compact' | 'large';
  /** Names the screen already has: estates by id, devices by id, people from the roster. */
  estateNames?: ReadonlyMap<string, string>;
  deviceNames?: ReadonlyMap<string, string>;
  people?: Person[];
  /** Whether the device has a camera linked (null = unknown): says 暂无抓拍 only when true. */
  cameraLinked?: boolean | null;
  /** The cameras linked to the alert's device, to watch live (issue 20): a 摄像头 list when given with onWatch. */
  cameras?: readonly string[];
  onWatch?: (camera: string) => void;
  onClose?: () => void;
  onChange?: (a: Alert) => void;
}) {
  const now = useNow(5_000);
  // Pushed changes that come while a load is on its way are kept on top of its answer (web/src/live-state.ts).
  const [detail, detailLive] = useLiveState<Detail | undefined>(props.initial);
  const [error, setError] = useState<unknown>(null);
  const [candidates, setCandidates] = useState<Person[]>([]);
  const role = session.value?.user.role;

  const load = async () => {
    try {
      await detailLive.load(() => api<Detail>(`/api/v1/alerts/${props.id}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  // Loads now and whenever the live link cannot vouch for what it shows. Callers key it by id.
  useSync([], load);

  const estate = detail?.estate;
  // Center and admin may assign to anyone covering the estate; others to themselves or who is on duty.
  useEffect(() => {
    if (!estate || (role !== 'center' && role !== 'admin')) return;
    api<unknown>(`/api/v1/roster/people?estate=${encodeURIComponent(estate)}`).then((r) => setCandidates(toPeople(r)), () => setCandidates([]));
  }, [estate, role]);

  const onAlert = (a: Alert) => {
    if (a.id !== props.id) return;
    detailLive.change((d) => ({ ...d, ...a }));
    void load();
  };
  useLive<Alert>('alert:update', onAlert);
  useLive<{ eventId: string }>('snapshot', (l) => detail?.events?.includes(l.eventId) && void load());

  const changed = (a: Alert) => {
    detailLive.change((d) => ({ ...d, ...a }));
    props.onChange?.(a);
    void load();
  };

  const missing = error instanceof ApiError && error.status === 404;
  const people = [...(props.people ?? []), ...candidates];
  const names = (actor?: string, name?: string) => actorName(actor, people, session.value?.user, name);

  return (
    <article class={`alert-detail ${props.size ?? 'compact'}`} data-alert-id={props.id} data-state={detail?.state}>
      {props.onClose && (
        <button type="button" class="btn ghost back" onClick={props.onClose}>
          ‹ {t('alert.back')}
        </button>
      )}
      {missing ? <p class="error" role="alert">{t('alert.notFound')}</p> : <ErrorNote what={t('alert.details')} error={error ? describe(error) : null} onRetry={() => void load()} />}
      {!detail && !error && <p class="muted">{t('loading')}</p>}
      {detail && (
        <>
          <Facts a={detail} now={now} names={names} estateName={detail.estateName ?? props.estateNames?.get(detail.estate)} deviceName={detail.deviceName ?? props.deviceNames?.get(detail.device)} />
          {(detail.snapshots?.length ?? 0) > 0 ? (
            <SnapshotViewer snapshots={detail.snapshots!} />
          ) : props.cameraLinked ? (
            <div class="snapshot empty full">{t('alert.noSnapshot')}</div>
          ) : null}
          <AlertClips key={props.id} alertId={props.id} openedAt={detail.openedAt} cameraLinked={props.cameraLinked} />
          {props.onWatch && props.cameras && <LinkedCameras cameras={props.cameras} names={props.deviceNames} onWatch={props.onWatch} />}
          <AlertActions alert={detail} onChange={changed} full candidates={people} onCommented={() => void load()} />
          <ToOrderButton key={props.id} alertId={props.id} />
          <Timeline entries={timelineOf(detail)} omitted={detail.repeatsOmitted ?? 0} names={names} />
          <Notifications items={detail.notifications ?? []} />
          <LinkedEvents events={detail.linkedEvents ?? []} deviceNames={props.deviceNames} />
        </>
      )}
    </article>
  );
}

const describe = (err: unknown): string => (err instanceof ApiError ? err.describe() : String((err as Error)?.message ?? err));

function Facts(props: { a: Detail; now: number; names: (actor?: string, name?: string) => string; estateName?: string; deviceName?: string }) {
  const a = props.a;
  const cleared = a.state !== 'resolved' ? conditionCleared(a) : null;
  const assignee = a.assignee ? props.names(a.assignee, a.assigneeName) : null;
  return (
    <header class="ad-facts">
      <h2 class="alert-head">
        <SeverityBadge severity={a.severity} /> <span>{tOr('rule', a.rule)}</span>
      </h2>
      <p class="where">
        {props.estateName ?? a.estate} · <b>{props.deviceName ?? a.device}</b>
        {typeof a.data?.door === 'number' || typeof a.data?.lane === 'number' ? <> · {eventTokens(a.rule, { door: a.data?.door, lane: a.data?.lane }).join(' · ')}</> : null}
      </p>
      <p class="alert-meta">
        {t('alert.openedAt', { time: formatDateTime(a.openedAt) })} · <Age at={a.openedAt} now={props.now} />
        {(a.count ?? 1) > 1 && <> · {t('alert.count', { n: a.count ?? 1 })}</>}
        {(a.level ?? 0) > 0 && <> · {t('alert.level', { n: a.level ?? 0 })}</>}
      </p>
      {cleared && (
        <p class="cleared" data-testid="cleared">
          {cleared}
        </p>
      )}
      <p class="alert-meta">
        <AlertStatus alert={a} names={props.names} />
        {' · '}
        <span data-testid="assignee">{assignee ? t('alert.assignee', { who: assignee }) : t('alert.unassigned')}</span>
      </p>
      {a.state === 'resolved' && a.resolution && <p class="resolution">{t('alert.resolution', { note: a.resolution })}</p>}
    </header>
  );
}

/** The hub's timeline; from an older hub, one made of its transitions and comments. */
function timelineOf(d: Detail): TimelineEntry[] {
  if (Array.isArray(d.timeline)) return [...d.timeline].sort((a, b) => a.at - b.at);
  const out: TimelineEntry[] = [{ at: d.openedAt, kind: 'raised' }];
  for (const tr of d.transitions ?? []) {
    if (tr.to === 'open') continue;
    const kind = tr.to === 'acknowledged' ? 'acknowledged' : tr.to === 'escalated' ? 'escalated' : tr.to === 'resolved' ? 'resolved' : tr.to;
    out.push({ at: tr.at, kind, ...(tr.actor ? { actor: tr.actor } : {}), ...(tr.note ? { note: tr.note } : {}) });
  }
  for (const c of d.comments ?? []) out.push({ at: c.at, kind: 'comment', ...(c.actor ? { actor: c.actor } : {}), ...(c.actorName ? { actorName: c.actorName } : {}), text: c.text });
  return out.sort((a, b) => a.at - b.at);
}

const BY_WHOM: Record<string, MessageKey> = { acknowledged: 'tl.acknowledged', assigned: 'tl.assigned', comment: 'tl.comment', resolved: 'tl.resolved' };

function entryText(e: TimelineEntry, who: string): string {
  if (e.kind === 'notified') return t(e.reason === 'renotify' ? 'tl.renotified' : 'tl.notified', { n: e.level ?? 0 }) + (e.actor?.startsWith('user:') ? ` · ${who}` : '');
  if (e.kind === 'escalated') return t('tl.escalated', { n: e.level ?? 0 });
  if (e.kind === 'repeat' && e.count) return t('tl.repeatN', { n: e.count });
  if (e.kind === 'assigned') return e.assignee === null ? t('tl.unassigned', { who }) : e.text ? t('tl.assignedTo', { who, to: e.text }) : t('tl.assigned', { who });
  const byWhom = BY_WHOM[e.kind];
  return byWhom ? t(byWhom, { who }) : tOr('tl', e.kind);
}

function Timeline(props: { entries: TimelineEntry[]; omitted: number; names: (actor?: string, name?: string) => string }) {
  if (props.entries.length === 0) return null;
  return (
    <section class="ad-timeline" aria-label={t('alert.timeline')} data-testid="timeline">
      <h3>{t('alert.timeline')}</h3>
      {props.omitted > 0 && <p class="muted">{t('tl.omitted', { n: props.omitted })}</p>}
      <ol>
        {props.entries.map((e, i) => (
          <li key={`${e.at}/${e.kind}/${i}`} data-kind={e.kind}>
            <time dateTime={new Date(e.at).toISOString()}>{formatTime(e.at)}</time>
            <span class="what">{entryText(e, props.names(e.actor, e.actorName) || t('tl.system'))}</span>
            {e.kind !== 'assigned' && (e.note || e.text) && <span class="note">{e.text ?? e.note}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function LinkedEvents(props: { events: LinkedEvent[]; deviceNames?: ReadonlyMap<string, string> }) {
  if (props.events.length === 0) return null;
  return (
    <section class="ad-linked" aria-label={t('alert.linkedEvents')}>
      <h3>{t('alert.linkedEvents')}</h3>
      <ol>
        {[...props.events]
          .sort((a, b) => b.ts - a.ts)
          .map((e) => (
            <li key={e.id}>
              <time dateTime={new Date(e.ts).toISOString()}>{formatTime(e.ts)}</time> <b>{e.deviceName ?? props.deviceNames?.get(e.device) ?? e.device}</b> {tOr('ev', e.type)}{' '}
              <span class="muted">{eventTokens(e.type, e.data).join(' · ')}</span>
            </li>
          ))}
      </ol>
    </section>
  );
}

/** Who was told off-screen, how, when, and whether it arrived (issue 17): one line per notification. */
function Notifications(props: { items: AlertNotification[] }) {
  if (props.items.length === 0) return null;
  return (
    <section class="ad-notifications" aria-label={t('alert.notifications')} data-testid="notifications">
      <h3>{t('alert.notifications')}</h3>
      <ol>
        {props.items.map((n) => (
          <li key={n.id} data-state={n.state}>
            <time dateTime={new Date(n.sentAt ?? n.queuedAt).toISOString()}>{formatTime(n.sentAt ?? n.queuedAt)}</time>
            <span class="who">
              {t('nt.level', { n: n.level })} · {n.userName ?? (n.userId === null ? t('nt.group') : n.userId)}
            </span>
            <span class="how muted">{n.atEdge ? t('nt.edge') : `${n.channelId} ${n.to}`}</span>
            <span class={`nt-state ${n.state}`} title={n.error ? `${n.error.code}: ${n.error.message}` : undefined}>
              {tOr('nt.state', n.state)}
              {n.attempts > 1 && <> · {t('nt.attempts', { n: n.attempts })}</>}
              {n.error && n.state !== 'sent' && n.state !== 'delivered' && <> · {n.error.code}</>}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
