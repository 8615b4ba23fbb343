import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { addSnapshot, loadRecentlyResolved, loadUnresolved, upsert, type SnapshotLink } from '../alerts.js';
import { api, ApiError, describeError } from '../api.js';
import { ErrorNote, TopBar } from '../components.js';
import { applyChange, emptyState, eventDetail, tiles } from '../estate-model.js';
import { formatTime, useNow } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { useLive, useLiveState, useSync } from '../live.js';
import { useLoad } from '../load.js';
import { actorName, toPeople, type Person } from '../people.js';
import { byUrgency, usePaging, type ScreenAlert } from '../screen-alerts.js';
import { session } from '../session.js';
import type { EstateRef, EstateStateView, Page, RbEvent, StateChange, Today } from '../types.js';
import { AlertPanel } from './alert-panel.js';
import { AlarmControls } from './alarm-controls.js';
import { alarmOnNew, alarmOnUpdate, useAlarm, useWakeLock } from '../alarm.js';
import { DeviceTile, GatewayLine, TodayCounts } from './estate-parts.js';
import { ScreenNav } from './nav.js';
import { OutOfScopePage } from './pages.js';
import { Pager, ScreenAlertRow } from './screen-alert-row.js';
import { OrdersPanel } from './orders-panel.js';
import { OrderNotices } from './orders-notice.js';
import { navigate, route } from '../router.js';
import { ALARM_SEVERITY } from '../alarm.js';
import { CameraWall, type WallRequest } from './camera-wall.js';

const TICKER = 14;
const RESOLVED = 3;

/**
 * `/estate/:id`. Asks the hub once which estates the viewer has (`/api/v1/me`); an estate outside them
 * gets one "outside your scope" page and not a single estate request. Should a request still be
 * refused (scope changed meanwhile), the screen stops loading and shows that page too.
 */
export function EstateView(props: { estate: string }) {
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  const [refused, setRefused] = useState(false);
  useEffect(() => void me.reload(), []);
  if (me.error) {
    return (
      <div class="screen">
        <TopBar title={t('app.title')} />
        <ErrorNote what={t('me.estate')} error={me.error} onRetry={() => void me.reload()} />
      </div>
    );
  }
  if (!me.data) {
    return (
      <div class="screen">
        <TopBar title={t('app.title')} />
        <p class="muted page-loading">{t('loading')}</p>
      </div>
    );
  }
  const ref = me.data.estates?.find((e) => e.id === props.estate);
  if (!ref || refused) return <OutOfScopePage estate={props.estate} />;
  return <EstateScreen estate={props.estate} name={ref.name ?? props.estate} onRefused={() => setRefused(true)} />;
}

/** A refusal that means "not yours" (403, or a 404 other than an estate that has not reported yet). */
const isRefusal = (err: unknown): boolean => err instanceof ApiError && (err.status === 403 || (err.status === 404 && !/no live state/.test(err.message)));

/** The estate command-center screen (1920×1080, no scrolling): devices, alerts, duty, today, ticker. */
function EstateScreen(props: { estate: string; name: string; onRefused: () => void }) {
  const { estate, name } = props;
  const now = useNow(1_000);
  // Each loaded over REST and kept live: pushes that come during a reload are kept on top of its answer.
  const [state, stateLive] = useLiveState<EstateStateView>(() => emptyState(estate));
  const [stateError, setStateError] = useState<string | null>(null);
  const [alerts, alertsLive] = useLiveState<ScreenAlert[]>([]);
  const [resolved, resolvedLive] = useLiveState<ScreenAlert[]>([]);
  const [alertsError, setAlertsError] = useState<string | null>(null);
  const [events, eventsLive] = useLiveState<RbEvent[]>([]);
  const [eventsError, setEventsError] = useState<string | null>(null);
  const [today, setToday] = useState<Today | null>(null);
  const [todayError, setTodayError] = useState<string | null>(null);
  const [onDuty, setOnDuty] = useState<Person[] | null>(null);
  const [dutyError, setDutyError] = useState<string | null>(null);
  const [selected, setSelected] = useState<ScreenAlert | null>(null);
  // The devices panel or, in its place, the camera wall (issue 20): the choice is remembered.
  const [panel, setPanelState] = useState<'devices' | 'wall'>(() => (localStorage.getItem(PANEL_KEY) === 'wall' ? 'wall' : 'devices'));
  const setPanel = (p: 'devices' | 'wall') => (setPanelState(p), localStorage.setItem(PANEL_KEY, p));
  const [wallRequests, setWallRequests] = useState<WallRequest[]>([]);
  const toWall = (req: WallRequest) => setWallRequests((list) => [...list.filter((x) => x.key !== req.key), req].slice(-9));
  const r = route.value;
  const openOrder = r.name === 'estate' ? r.order : undefined;

  // One refusal is enough: say so once and stop asking (no screen full of error boxes).
  const refusedRef = useRef(false);
  const fail = (set: (e: string | null) => void) => (err: unknown) => {
    if (isRefusal(err)) {
      if (!refusedRef.current) props.onRefused();
      refusedRef.current = true;
    } else set(describeError(err));
  };
  const loadToday = () =>
    refusedRef.current
      ? Promise.resolve()
      : api<Today>(`/api/v1/estates/${estate}/today`).then((d) => (setToday(d), setTodayError(null)), fail(setTodayError));
  const loadDuty = () =>
    refusedRef.current
      ? Promise.resolve()
      : api<unknown>(`/api/v1/roster/on-duty?estate=${estate}`).then((d) => (setOnDuty(toPeople(d)), setDutyError(null)), fail(setDutyError));

  useSync([`estate:${estate}`], async () => {
    if (refusedRef.current) return;
    // The state first: a refusal there stops the rest before it is sent.
    await stateLive
      .load(() =>
        api<EstateStateView>(`/api/v1/state/estates/${estate}`).catch((err: unknown) => {
          // No live state yet = nothing has reported: an empty estate, not an error.
          if (err instanceof ApiError && err.status === 404 && /no live state/.test(err.message)) return emptyState(estate);
          throw err;
        }),
      )
      .then(() => setStateError(null), fail(setStateError));
    if (refusedRef.current) return;
    await Promise.all([
      Promise.all([alertsLive.load(() => loadUnresolved(estate)), resolvedLive.load(() => loadRecentlyResolved(estate, RESOLVED))]).then(() => setAlertsError(null), fail(setAlertsError)),
      eventsLive.load(async () => (await api<Page<RbEvent>>(`/api/v1/events?estate=${estate}&limit=${TICKER}`)).items).then(() => setEventsError(null), fail(setEventsError)),
      loadToday(),
      loadDuty(),
    ]);
  });

  // Counts and duty change with time, not only with pushes.
  useEffect(() => {
    const id = setInterval(() => void Promise.all([loadToday(), loadDuty()]), 60_000);
    return () => clearInterval(id);
  }, [estate]);
  const todayTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const refreshTodaySoon = () => {
    if (!todayTimer.current) todayTimer.current = setTimeout(() => ((todayTimer.current = undefined), void loadToday()), 5_000);
  };
  useEffect(() => () => clearTimeout(todayTimer.current), []);

  useLive<StateChange>('device:state', (c) => c.estate === estate && stateLive.change((s) => applyChange(s, c)));
  useLive<RbEvent>('event', (e) => {
    if (e.estate !== estate) return;
    eventsLive.change((list) => (list.some((x) => x.id === e.id) ? list : [e, ...list].slice(0, TICKER)));
    refreshTodaySoon();
  });
  const onAlert = (a: ScreenAlert) => {
    if (a.estate !== estate) return;
    if (a.state === 'resolved') {
      alertsLive.change((list) => list.filter((x) => x.id !== a.id));
      resolvedLive.change((list) => [a, ...list.filter((x) => x.id !== a.id)].slice(0, RESOLVED));
    } else alertsLive.change((list) => upsert(list, a));
    setSelected((s) => (s && s.id === a.id ? a : s));
    refreshTodaySoon();
  };
  // The open page's alarm (item 7): new severe alerts ring until acknowledged or muted; the screen stays on.
  useAlarm();
  useWakeLock();
  useLive<ScreenAlert>('alert:new', (a) => {
    onAlert(a);
    if (a.estate === estate) alarmOnNew(a);
    // A severe alert from a device with a camera: the wall shows that camera (now, or when opened).
    if (a.estate === estate && a.severity >= ALARM_SEVERITY && a.state !== 'resolved' && cameraLinked(a.device) !== false) toWall({ key: a.id, alert: a });
  });
  useLive<ScreenAlert>('alert:update', (a) => {
    onAlert(a);
    alarmOnUpdate(a);
  });
  useLive<SnapshotLink>('snapshot', (l) => alertsLive.change((list) => addSnapshot(list, l)));

  const duty = onDuty ?? [];
  const names = (actor?: string, n?: string) => actorName(actor, duty, session.value?.user, n);
  const sorted = useMemo(() => alerts.slice().sort(byUrgency), [alerts]);
  const listRef = useRef<HTMLUListElement>(null);
  const paging = usePaging(sorted, listRef, { paused: selected !== null });
  const deviceTiles = tiles(state);
  const alarmsOf = useMemo(() => {
    const m = new Map<string, ScreenAlert[]>();
    for (const a of sorted) m.set(a.device, [...(m.get(a.device) ?? []), a]);
    return m;
  }, [sorted]);
  const deviceNames = useMemo(() => new Map(state.devices.filter((d) => d.name).map((d) => [d.device, d.name!])), [state.devices]);
  const estateNames = useMemo(() => new Map([[estate, name]]), [estate, name]);
  // Whether the gateway's config links a camera to the device (暂无抓拍 only then); unknown: null.
  const cameraLinked = (device: string): boolean | null => {
    const cams = state.devices.find((d) => d.device === device)?.cameras;
    return cams ? cams.length > 0 : null;
  };

  return (
    <div class={`screen with-orders ${selected ? 'with-panel' : ''}${panel === 'wall' ? ' with-wall' : ''}`}>
      <OrderNotices onOpen={(o) => navigate(`/estate/${encodeURIComponent(o.estate)}?order=${encodeURIComponent(o.id)}`)} />
      <TopBar title={t('estate.title', { name })}>
        <ScreenNav />
        <AlarmControls />
        <span class="clock" aria-hidden="true">
          {formatTime(now)}
        </span>
      </TopBar>
      <div class="screen-main">
        <section class={`panel devices${panel === 'wall' ? ' with-wall' : ''}`} aria-labelledby="h-devices">
          <div class="panel-switch">
            <h2 id="h-devices">{panel === 'wall' ? t('video.wall') : t('estate.devices')}</h2>
            <span class="spacer" />
            <button type="button" class={`btn small${panel === 'devices' ? ' on' : ''}`} aria-pressed={panel === 'devices'} data-panel="devices" onClick={() => setPanel('devices')}>
              {t('video.panelDevices')}
            </button>
            <button type="button" class={`btn small${panel === 'wall' ? ' on' : ''}`} aria-pressed={panel === 'wall'} data-panel="wall" onClick={() => setPanel('wall')}>
              {t('video.panelWall')}
              {panel !== 'wall' && wallRequests.length > 0 && <span class="dot-new" title={t('video.newAlarm')} aria-label={t('video.newAlarm')} />}
            </button>
          </div>
          {panel === 'wall' ? (
            <CameraWall estate={estate} requests={wallRequests} onHandled={(key) => setWallRequests((list) => list.filter((x) => x.key !== key))} />
          ) : (
            <>
          <ErrorNote what={t('estate.devices')} error={stateError} />
          <GatewayLine state={state} />
          <div class="tiles">
            {deviceTiles.map((tile) => (
              <DeviceTile key={tile.id} tile={tile} occupancy={state.occupancy.count} alarms={alarmsOf.get(tile.id) ?? []} onAlarm={setSelected} />
            ))}
          </div>
          {deviceTiles.length === 0 && !stateError && <p class="muted">{t('estate.noDevices')}</p>}
            </>
          )}
        </section>
        <section class="panel alerts" aria-labelledby="h-alerts">
          <h2 id="h-alerts">
            {t('alerts.title')} <span class="count">{alerts.length}</span>
          </h2>
          <ErrorNote what={t('alerts.title')} error={alertsError} />
          {sorted.length === 0 && !alertsError && <p class="muted big-empty">{t('alerts.none')}</p>}
          <ul class="alert-list paged" ref={listRef}>
            {paging.rows.map((a) => (
              <ScreenAlertRow key={a.id} alert={a} now={now} names={names} thumb selected={selected?.id === a.id} onOpen={setSelected} />
            ))}
          </ul>
          <Pager paging={paging} />
          {resolved.length > 0 && (
            <>
              <h3>{t('alerts.resolvedRecently')}</h3>
              <ul class="alert-list resolved">
                {resolved.map((a) => (
                  <ScreenAlertRow key={a.id} alert={a} now={now} names={names} compact selected={selected?.id === a.id} onOpen={setSelected} />
                ))}
              </ul>
            </>
          )}
        </section>
        <div class="side">
          <section class="panel today" aria-labelledby="h-today">
            <h2 id="h-today">{t('estate.today')}</h2>
            <ErrorNote what={t('estate.today')} error={todayError} onRetry={() => void loadToday()} />
            {today && <TodayCounts today={today} />}
          </section>
          <section class="panel duty" aria-labelledby="h-duty">
            <h2 id="h-duty">{t('estate.onDuty')}</h2>
            <ErrorNote what={t('estate.onDuty')} error={dutyError} onRetry={() => void loadDuty()} />
            {onDuty && onDuty.length === 0 && <p class="muted">{t('estate.nobody')}</p>}
            <ul class="people">
              {duty.map((p) => (
                <li key={p.id ?? p.name}>{p.name}</li>
              ))}
            </ul>
          </section>
          <OrdersPanel estate={estate} now={now} openId={openOrder} onOpened={() => navigate(`/estate/${estate}`, true)} onDrawer={(open) => open && setSelected(null)} alertOpen={selected !== null} />
        </div>
      </div>
      <section class="ticker" aria-labelledby="h-ticker">
        <h2 id="h-ticker">{t('estate.ticker')}</h2>
        <ErrorNote what={t('estate.ticker')} error={eventsError} />
        {events.length === 0 && !eventsError && <p class="muted">{t('estate.noEvents')}</p>}
        <ol class="ticker-list" aria-live="off">
          {events.map((e) => (
            <li key={e.id} class={ALARM_EVENTS.has(e.type) ? 'alarm' : ''}>
              <time>{formatTime(e.ts)}</time> <b>{deviceNames.get(e.device) ?? e.device}</b> {tOr('ev', e.type)} <span class="muted">{eventDetail(e)}</span>
            </li>
          ))}
        </ol>
      </section>
      {selected && (
        <AlertPanel
          alert={selected}
          estateNames={estateNames}
          deviceNames={deviceNames}
          people={duty}
          cameraLinked={cameraLinked(selected.device)}
          cameras={state.devices.find((d) => d.device === selected.device)?.cameras ?? []}
          onWatch={(camera) => (setPanel('wall'), toWall({ key: `watch:${camera}:${Date.now()}`, camera, alert: selected }))}
          onClose={() => setSelected(null)}
          onChange={onAlert}
        />
      )}
    </div>
  );
}

const PANEL_KEY = 'rb.estate.panel';
const ALARM_EVENTS = new Set(['door.forced', 'door.held', 'device.tamper', 'camera.tamper', 'camera.signalLoss', 'barrier.fault', 'vehicle.denied']);
