import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { addSnapshot, loadRecentlyResolved, loadUnresolved, upsert, type SnapshotLink } from '../alerts.js';
import { api, ApiError, describeError } from '../api.js';
import { Age, AlertStatus, ErrorNote, SeverityBadge, Snapshot, TopBar } from '../components.js';
import { applyChange, emptyState, eventDetail, tiles, type Tile } from '../estate-model.js';
import { formatDuration, formatTime, useNow } from '../format.js';
import { t, tOr, type MessageKey } from '../i18n/index.js';
import { useLive, useSync } from '../live.js';
import { useLoad } from '../load.js';
import { actorName, toPeople } from '../people.js';
import { navigate } from '../router.js';
import { session } from '../session.js';
import type { Alert, EstateRef, EstateStateView, Page, RbEvent, StateChange, Today } from '../types.js';

const TICKER = 14;

/** The estate command-center screen (1920×1080, no scrolling): devices, alerts, duty, today, ticker. */
export function EstateView(props: { estate: string }) {
  const estate = props.estate;
  const now = useNow(1_000);
  const [state, setState] = useState<EstateStateView>(emptyState(estate));
  const [stateError, setStateError] = useState<string | null>(null);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [resolved, setResolved] = useState<Alert[]>([]);
  const [alertsError, setAlertsError] = useState<string | null>(null);
  const [events, setEvents] = useState<RbEvent[]>([]);
  const [eventsError, setEventsError] = useState<string | null>(null);
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  const today = useLoad<Today>(`/api/v1/estates/${estate}/today`);
  const onDuty = useLoad(`/api/v1/roster/on-duty?estate=${estate}`, toPeople);

  const scope = `estate:${estate}`;
  useSync([scope], async () => {
    await Promise.all([
      api<EstateStateView>(`/api/v1/state/estates/${estate}`)
        .then((v) => {
          setState(v);
          setStateError(null);
        })
        .catch((err) => {
          // No live state yet = nothing has reported: an empty estate, not an error.
          if (err instanceof ApiError && err.status === 404 && /no live state/.test(err.message)) {
            setState(emptyState(estate));
            setStateError(null);
          } else setStateError(describeError(err));
        }),
      Promise.all([loadUnresolved(estate), loadRecentlyResolved(estate, 4)])
        .then(([open, done]) => {
          setAlerts(open);
          setResolved(done);
          setAlertsError(null);
        })
        .catch((err) => setAlertsError(describeError(err))),
      api<Page<RbEvent>>(`/api/v1/events?estate=${estate}&limit=${TICKER}`)
        .then((p) => {
          setEvents(p.items);
          setEventsError(null);
        })
        .catch((err) => setEventsError(describeError(err))),
      today.reload(),
      onDuty.reload(),
      me.reload(),
    ]);
  });

  // Counts and duty change with time, not only with pushes.
  useEffect(() => {
    const id = setInterval(() => void Promise.all([today.reload(), onDuty.reload()]), 60_000);
    return () => clearInterval(id);
  }, [estate]);
  const todayTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const refreshTodaySoon = () => {
    if (!todayTimer.current) todayTimer.current = setTimeout(() => ((todayTimer.current = undefined), void today.reload()), 5_000);
  };
  useEffect(() => () => clearTimeout(todayTimer.current), []);

  useLive<StateChange>('device:state', (c) => c.estate === estate && setState((s) => applyChange(s, c)));
  useLive<RbEvent>('event', (e) => {
    if (e.estate !== estate) return;
    setEvents((list) => (list.some((x) => x.id === e.id) ? list : [e, ...list].slice(0, TICKER)));
    refreshTodaySoon();
  });
  const onAlert = (a: Alert) => {
    if (a.estate !== estate) return;
    if (a.state === 'resolved') {
      setAlerts((list) => list.filter((x) => x.id !== a.id));
      setResolved((list) => [a, ...list.filter((x) => x.id !== a.id)].slice(0, 4));
    } else setAlerts((list) => upsert(list, a));
    refreshTodaySoon();
  };
  useLive<Alert>('alert:new', onAlert);
  useLive<Alert>('alert:update', onAlert);
  useLive<SnapshotLink>('snapshot', (l) => setAlerts((list) => addSnapshot(list, l)));

  const name = me.data?.estates?.find((e) => e.id === estate)?.name ?? estate;
  const people = onDuty.data ?? [];
  const names = (actor?: string, name?: string) => actorName(actor, people, session.value?.user, name);
  const sorted = useMemo(() => alerts.slice().sort((a, b) => b.severity - a.severity || b.openedAt - a.openedAt), [alerts]);
  const role = session.value?.user.role;

  const deviceNames = new Map(state.devices.filter((d) => d.name).map((d) => [d.device, d.name!]));
  return (
    <div class="screen">
      <TopBar title={t('estate.title', { name })}>
        {(role === 'center' || role === 'admin') && (
          <button type="button" class="btn ghost" onClick={() => navigate('/street')}>
            {t('nav.street')}
          </button>
        )}
        <span class="clock" aria-hidden="true">
          {formatTime(now)}
        </span>
      </TopBar>
      <div class="screen-main">
        <section class="panel devices" aria-labelledby="h-devices">
          <h2 id="h-devices">{t('estate.devices')}</h2>
          <ErrorNote what={t('estate.devices')} error={stateError} />
          <GatewayLine state={state} />
          <div class="tiles">
            {tiles(state).map((tile) => (
              <DeviceTile key={tile.id} tile={tile} occupancy={state.occupancy.count} />
            ))}
          </div>
          {tiles(state).length === 0 && !stateError && <p class="muted">{t('estate.noDevices')}</p>}
        </section>
        <section class="panel alerts" aria-labelledby="h-alerts">
          <h2 id="h-alerts">
            {t('alerts.title')} <span class="count">{alerts.length}</span>
          </h2>
          <ErrorNote what={t('alerts.title')} error={alertsError} />
          {sorted.length === 0 && !alertsError && <p class="muted big-empty">{t('alerts.none')}</p>}
          <ul class="alert-list">
            {sorted.map((a) => (
              <ScreenAlert key={a.id} alert={a} now={now} names={names} />
            ))}
          </ul>
          {resolved.length > 0 && (
            <>
              <h3>{t('alerts.resolvedRecently')}</h3>
              <ul class="alert-list resolved">
                {resolved.map((a) => (
                  <ScreenAlert key={a.id} alert={a} now={now} names={names} compact />
                ))}
              </ul>
            </>
          )}
        </section>
        <div class="side">
          <section class="panel today" aria-labelledby="h-today">
            <h2 id="h-today">{t('estate.today')}</h2>
            <ErrorNote what={t('estate.today')} error={today.error} onRetry={() => void today.reload()} />
            {today.data && <TodayCounts today={today.data} />}
          </section>
          <section class="panel duty" aria-labelledby="h-duty">
            <h2 id="h-duty">{t('estate.onDuty')}</h2>
            <ErrorNote what={t('estate.onDuty')} error={onDuty.error} onRetry={() => void onDuty.reload()} />
            {onDuty.data && onDuty.data.length === 0 && <p class="muted">{t('estate.nobody')}</p>}
            <ul class="people">
              {people.map((p) => (
                <li key={p.id ?? p.name}>{p.name}</li>
              ))}
            </ul>
          </section>
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
    </div>
  );
}

const ALARM_EVENTS = new Set(['door.forced', 'door.held', 'device.tamper', 'camera.tamper', 'camera.signalLoss', 'barrier.fault', 'vehicle.denied']);

function GatewayLine(props: { state: EstateStateView }) {
  if (props.state.gateways.length === 0) return null;
  return (
    <p class="gateways">
      {props.state.gateways.map((g) => (
        <span key={g.gateway} class={`pill ${g.online ? 'ok' : 'bad'}`}>
          {t('estate.gateway', { id: g.gateway })} · {g.online ? t('dev.online') : t('dev.offline')}
        </span>
      ))}
    </p>
  );
}

function DeviceTile(props: { tile: Tile; occupancy: number }) {
  const { tile } = props;
  return (
    <article class={`tile lvl-${tile.level}`} data-device={tile.id}>
      <header>
        <span class="kind">{t(`kind.${tile.kind}` as MessageKey)}</span>
        {tile.condition === 'auth-failed' ? (
          <span class="dot bad" data-condition="auth-failed" title={t('dev.authFailed.hint')}>
            {t('dev.authFailed')}
          </span>
        ) : (
          <span class={`dot ${tile.online === false ? 'bad' : tile.online ? 'ok' : 'unknown'}`}>
            {tile.online === false ? t('dev.offline') : tile.online ? t('dev.online') : t('dev.unknown')}
          </span>
        )}
      </header>
      <h3>{tile.name ?? tile.id}</h3>
      {(tile.name || tile.model) && <p class="muted id">{[tile.name ? tile.id : '', tile.model ?? ''].filter(Boolean).join(' · ')}</p>}
      {tile.warnings.map((w) => (
        <p key={w} class="cond warn" data-warning={w}>
          {tOr('dev.warning', w)}
        </p>
      ))}
      {tile.doors.map((d) => (
        <p key={d.door} class={`cond door-${d.state}`}>
          {t('door.n', { n: d.door })}: {tOr('door', d.state)}
        </p>
      ))}
      {tile.barriers.map((b) => (
        <p key={b.lane} class={`cond barrier-${b.state}`}>
          {t('lane.n', { n: b.lane })}: {tOr('barrier', b.state)}
        </p>
      ))}
      {tile.kind === 'barrier' && <p class="cond">{t('barrier.occupancy', { n: props.occupancy })}</p>}
      {tile.camera && (
        <p class={`cond ${tile.camera.tamper || tile.camera.signalLoss ? 'alarm' : ''}`}>
          {tile.camera.signalLoss ? t('camera.signalLoss') : tile.camera.tamper ? t('camera.tamper') : tile.camera.motion ? t('camera.motion') : t('camera.ok')}
        </p>
      )}
    </article>
  );
}

function ScreenAlert(props: { alert: Alert; now: number; names: (a?: string, name?: string) => string; compact?: boolean }) {
  const a = props.alert;
  const snap = a.snapshots?.[a.snapshots.length - 1];
  return (
    <li class={`alert-row sev-row-${a.severity} ${a.state}`} data-alert-id={a.id} data-state={a.state}>
      <div class="alert-text">
        <p class="alert-head">
          <SeverityBadge severity={a.severity} /> <b>{tOr('rule', a.rule)}</b> <span class="device">{a.deviceName ?? a.device}</span>
          {(a.count ?? 1) > 1 && <span class="muted"> · {t('alert.count', { n: a.count ?? 1 })}</span>}
        </p>
        <p class="alert-meta">
          <Age at={a.state === 'resolved' && a.resolvedAt ? a.resolvedAt : a.openedAt} now={props.now} /> · <AlertStatus alert={a} names={props.names} />
        </p>
      </div>
      {!props.compact && <Snapshot snap={snap} class="thumb" />}
    </li>
  );
}

function TodayCounts(props: { today: Today }) {
  const d = props.today;
  const items: Array<[MessageKey, string | number]> = [
    ['today.entries', d.entries],
    ['today.vehiclesIn', d.vehiclesIn],
    ['today.vehiclesOut', d.vehiclesOut],
    ['today.occupancy', d.occupancy],
    ['today.alertsOpened', d.alertsOpened],
    ['today.alertsResolved', d.alertsResolved],
    ['today.medianAck', formatDuration(d.medianAckS)],
  ];
  return (
    <dl class="counts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{t(k)}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
