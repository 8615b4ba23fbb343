import { useEffect, useMemo, useState } from 'preact/hooks';
import { addSnapshot, isOpen, loadUnresolved, upsert, type SnapshotLink } from '../alerts.js';
import { describeError } from '../api.js';
import { Age, AlertStatus, ErrorNote, EstateSelect, SeverityBadge, Snapshot, TopBar } from '../components.js';
import { useNow } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { conditionCleared } from '../labels.js';
import { useLive, useLiveState, useSync } from '../live.js';
import { useLoad } from '../load.js';
import { actorName, toHandover } from '../people.js';
import { navigate, route } from '../router.js';
import { session } from '../session.js';
import type { Alert, EstateRef, EstateStateView, HandoverNote } from '../types.js';
import { AlertActions } from './alert-actions.js';
import { AlertDetail } from './alert-detail.js';
import { PhoneCommands } from './phone-commands.js';
import { HandoverPanel, toNote } from './phone-handover.js';
import { PhoneHistory } from './phone-history.js';
import { PushToggle } from './alarm-controls.js';
import { PhoneOrder, PhoneOrders } from './orders-phone.js';
import { OrderNotices } from './orders-notice.js';
import { useOrders } from '../orders.js';
import { vibrateFor } from '../alarm.js';
import { PatrolPanel } from './patrol.js';
import { CameraList, CameraSingle } from './camera-single.js';

/** Most urgent first; among equals the oldest first (it has waited longest). */
export const bySeverityThenAge = (a: Alert, b: Alert): number => b.severity - a.severity || a.openedAt - b.openedAt || (a.id < b.id ? -1 : 1);

/**
 * The volunteer's phone (360×740, touch): open alerts of my scope (live), their detail, history,
 * remote opening, hand-over, patrol rounds (巡更). Its pages ride on the query (`/me?tab=history`, `/me?alert=<id>`).
 */
export function PhoneView() {
  const user = session.value!.user;
  const r = route.value;
  const tab = r.name === 'me' ? (r.alert ? 'alert' : r.order ? 'order' : r.camera ? 'camera' : (r.tab ?? 'alerts')) : 'alerts';
  const now = useNow(5_000);
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  const estates = me.data?.estates ?? [];
  const estateNames = useMemo(() => new Map(estates.map((e) => [e.id, e.name ?? e.id])), [estates]);
  // One estate in scope: that one. Several (a patrol): all of them until one is picked.
  const [picked, setPicked] = useState<string | null>(null);
  const estate = picked ?? (estates.length === 1 ? estates[0]!.id : null);
  // Loaded over REST, kept live; pushes that come during a reload are kept on top of its answer.
  const [alerts, alertsLive] = useLiveState<Alert[]>([]);
  const [alertsError, setAlertsError] = useState<unknown>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const [note, setNote] = useState<HandoverNote | null>(null);
  const [noteSeen, setNoteSeen] = useState(true);
  const handover = useLoad(estate ? `/api/v1/roster/handover?estate=${estate}` : null, (raw) => ({ ...toHandover(raw), last: toNote((raw as { lastHandover?: unknown })?.lastHandover) }));
  const devices = useLoad<EstateStateView>(estate ? `/api/v1/state/estates/${estate}` : null);

  const scopes = [`user:${user.id}`, ...estates.map((e) => `estate:${e.id}`)];
  const orders = useOrders(undefined, scopes);
  const myOrders = picked ? orders.orders.filter((o) => o.estate === picked) : orders.orders;
  useSync(scopes, async () => {
    await Promise.all([
      me.reload(),
      alertsLive
        .load(() => loadUnresolved())
        .then(() => setAlertsError(null))
        .catch((err) => setAlertsError(err)),
      handover.reload(),
      devices.reload(),
    ]);
  });
  useEffect(() => {
    void handover.reload();
    void devices.reload();
  }, [estate]);
  useEffect(() => {
    if (handover.data?.last) setNote((n) => (n && n.at >= handover.data!.last!.at ? n : handover.data!.last!));
  }, [handover.data]);

  const onAlert = (a: Alert) => alertsLive.change((list) => upsert(list, a));
  useLive<Alert>('alert:new', (a) => {
    onAlert(a);
    vibrateFor(a);
  });
  useLive<Alert>('alert:update', onAlert);
  useLive<SnapshotLink>('snapshot', (l) => alertsLive.change((list) => addSnapshot(list, l)));
  useLive<{ alert: Alert; level: number; reason: string }>('alert:notify', (n) => {
    onAlert(n.alert);
    setFlash(n.alert.id);
    navigator.vibrate?.(200);
  });
  useLive<unknown>('handover:new', (raw) => {
    const n = toNote(raw);
    if (!n || (estate && n.estate !== estate)) return;
    setNote(n);
    if (n.by !== `user:${user.id}` && n.by !== user.id) setNoteSeen(false);
  });

  const open = useMemo(() => alerts.filter((a) => isOpen(a) && (!picked || a.estate === picked)).sort(bySeverityThenAge), [alerts, picked]);
  const deviceNames = useMemo(() => new Map((devices.data?.devices ?? []).filter((d) => d.name).map((d) => [d.device, d.name!])), [devices.data]);
  const people = [...(handover.data?.now ?? []), ...(handover.data?.next ?? [])];
  const names = (actor?: string, name?: string) => actorName(actor, people, session.value?.user, name);
  const showEstate = estates.length > 1;
  // Whether the alert's device has a camera linked (its gateway's config says so); unknown: null.
  const cameraLinked = (a: Alert | undefined): boolean | null => {
    const cams = a && a.estate === estate ? devices.data?.devices.find((d) => d.device === a.device)?.cameras : undefined;
    return cams ? cams.length > 0 : null;
  };
  const go = (query: string) => navigate(`/me${query}`);
  // The cameras linked to the alert's device (from the same state), to watch from its detail (issue 20).
  const linkedCams = (a: Alert | undefined): string[] => (a && a.estate === estate ? (devices.data?.devices.find((d) => d.device === a.device)?.cameras ?? []) : []);
  const watch = (est: string) => (device: string) => go(`?camera=${encodeURIComponent(device)}&estate=${encodeURIComponent(est)}`);

  return (
    <div class="phone">
      <OrderNotices onOpen={(o) => go(`?order=${encodeURIComponent(o.id)}`)} />
      <TopBar title={t('me.title')} compact />
      <nav class="phone-tabs" aria-label={t('me.title')}>
        {(['alerts', 'orders', 'history', 'handover', 'patrol'] as const).map((k) => (
          <button key={k} type="button" class={`tab${tab === k ? ' on' : ''}`} aria-current={tab === k ? 'page' : undefined} data-tab={k} onClick={() => go(k === 'alerts' ? '' : `?tab=${k}`)}>
            {t(`me.tab.${k}`)}
            {k === 'alerts' && open.length > 0 && <span class="count">{open.length}</span>}
            {k === 'orders' && myOrders.length > 0 && <span class="count">{myOrders.length}</span>}
            {k === 'handover' && !noteSeen && <span class="dot-new" aria-hidden="true" />}
          </button>
        ))}
      </nav>
      <main class="phone-main">
        <ErrorNote what={t('me.estate')} error={me.error} onRetry={() => void me.reload()} />
        {me.data && estates.length === 0 && <p class="muted">{t('me.noEstates')}</p>}
        {estates.length > 1 && tab !== 'alert' && tab !== 'order' && tab !== 'camera' && (
          <EstateSelect estates={estates} value={picked} onChange={setPicked} all={t('me.allEstates')} testId="estate-picker" />
        )}
        {tab === 'alert' && r.name === 'me' && r.alert && (
          <AlertDetail key={r.alert} id={r.alert} initial={alerts.find((a) => a.id === r.alert)} size="compact" estateNames={estateNames} deviceNames={deviceNames} people={people} cameraLinked={cameraLinked(alerts.find((a) => a.id === r.alert))} cameras={linkedCams(alerts.find((a) => a.id === r.alert))} onWatch={estate ? watch(estate) : undefined} onClose={() => (history.length > 1 ? history.back() : go(''))} onChange={onAlert} />
        )}
        {tab === 'camera' && r.name === 'me' && r.camera && r.estate && <CameraSingle key={r.camera} estate={r.estate} device={r.camera} onBack={() => (history.length > 1 ? history.back() : go('?tab=cameras'))} />}
        {tab === 'cameras' && (estate ? <CameraList estate={estate} onWatch={watch(estate)} /> : estates.length > 1 && <p class="muted">{t('me.pickEstate')}</p>)}
        {tab === 'patrol' && <PatrolPanel estate={picked} code={r.name === 'me' ? r.code : undefined} onCodeUsed={() => navigate('/me?tab=patrol', true)} />}
        {tab === 'orders' && <PhoneOrders orders={myOrders} error={orders.error} reload={() => void orders.reload()} now={now} showEstate={showEstate} onOpen={(id) => go(`?order=${id}`)} />}
        {tab === 'order' && r.name === 'me' && r.order && <PhoneOrder id={r.order} initial={orders.orders.find((o) => o.id === r.order)} onClose={() => (history.length > 1 ? history.back() : go('?tab=orders'))} onChange={orders.onOrder} />}
        {tab === 'history' && <PhoneHistory estate={picked} estateNames={estateNames} showEstate={showEstate} names={names} onOpen={(id) => go(`?alert=${id}`)} />}
        {tab === 'handover' && (
          <HandoverPanel estate={estate} loaded={handover} alerts={estate ? open.filter((a) => a.estate === estate).sort((a, b) => a.openedAt - b.openedAt) : []} note={note} onNote={setNote} onSeen={() => setNoteSeen(true)} now={now} />
        )}
        {tab === 'alerts' && (
          <>
            {!noteSeen && note && (
              <p class="notice" role="status">
                {t('handover.new', { who: note.byName ?? names(note.by) })}{' '}
                <button type="button" class="btn small" onClick={() => go('?tab=handover')}>
                  {t('handover.view')}
                </button>
              </p>
            )}
            <section aria-labelledby="h-mine">
              <h2 id="h-mine">
                {t('alerts.title')} <span class="count">{open.length}</span>
              </h2>
              <ErrorNote what={t('alerts.title')} error={alertsError ? describeError(alertsError) : null} />
              {open.length === 0 && !alertsError && <p class="muted">{t('alerts.none')}</p>}
              <ul class="cards">
                {open.map((a) => (
                  <AlertCard key={a.id} alert={a} now={now} names={names} flash={flash === a.id} onChange={onAlert} estateName={showEstate ? (a.estateName ?? estateNames.get(a.estate) ?? a.estate) : undefined} deviceName={a.deviceName ?? (a.estate === estate ? deviceNames.get(a.device) : undefined)} onOpen={() => go(`?alert=${a.id}`)} />
                ))}
              </ul>
            </section>
            <section aria-labelledby="h-cmd">
              <h2 id="h-cmd">{t('cmd.title')}</h2>
              {estate ? (
                <>
                  <ErrorNote what={t('cmd.title')} error={devices.error && !isNoState(devices.error) ? devices.error : null} onRetry={() => void devices.reload()} />
                  {devices.data ? <PhoneCommands estate={estate} state={devices.data} /> : devices.error && isNoState(devices.error) ? <p class="muted">{t('cmd.none')}</p> : null}
                </>
              ) : (
                estates.length > 1 && <p class="muted">{t('me.pickEstate')}</p>
              )}
            </section>
            {estate && (
              <section aria-labelledby="h-cams">
                <h2 id="h-cams">{t('video.cameras')}</h2>
                <button type="button" class="btn" onClick={() => go('?tab=cameras')} data-testid="open-cameras">
                  {t('video.openCameras')} ›
                </button>
              </section>
            )}
            <PushToggle />
          </>
        )}
      </main>
    </div>
  );
}

/** An estate whose gateway never reported has no live state: nothing to open, not an error. */
const isNoState = (error: string): boolean => /no live state/.test(error);

function AlertCard(props: { alert: Alert; now: number; names: (a?: string, name?: string) => string; flash: boolean; onChange: (a: Alert) => void; estateName?: string; deviceName?: string; onOpen: () => void }) {
  const a = props.alert;
  const snap = a.snapshots?.[a.snapshots.length - 1];
  const cleared = conditionCleared(a);
  return (
    <li class={`card sev-row-${a.severity} ${props.flash ? 'flash' : ''}`} data-alert-id={a.id} data-state={a.state} data-estate={a.estate}>
      <p class="alert-head">
        <SeverityBadge severity={a.severity} /> <b>{tOr('rule', a.rule)}</b>
      </p>
      <p class="alert-meta">
        {props.estateName && (
          <>
            <span class="estate" data-testid="card-estate">
              {props.estateName}
            </span>
            {' · '}
          </>
        )}
        {props.deviceName ?? a.device} · <Age at={a.openedAt} now={props.now} />
        {(a.count ?? 1) > 1 && <> · {t('alert.count', { n: a.count ?? 1 })}</>}
      </p>
      {cleared && (
        <p class="cleared" data-testid="cleared">
          {cleared}
        </p>
      )}
      <p class="alert-meta">
        <AlertStatus alert={a} names={props.names} />
        {a.assignee && (
          <>
            {' · '}
            <span data-testid="card-assignee">{t('alert.assignee', { who: props.names(a.assignee, a.assigneeName) })}</span>
          </>
        )}
      </p>
      {snap && (
        <button type="button" class="snapshot-open" onClick={props.onOpen} aria-label={t('alert.details')}>
          <Snapshot snap={snap} class="photo" hideEmpty />
        </button>
      )}
      <AlertActions alert={a} onChange={props.onChange} />
      <button type="button" class="btn ghost details" onClick={props.onOpen} data-testid="details">
        {t('alert.details')} ›
      </button>
    </li>
  );
}
