import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { upsert } from '../alerts.js';
import { api, describeError } from '../api.js';
import { ErrorNote, TopBar } from '../components.js';
import { formatDuration, formatTime, useNow } from '../format.js';
import { t } from '../i18n/index.js';
import { useLive, useLiveState, useSync } from '../live.js';
import { useLoad } from '../load.js';
import { actorName } from '../people.js';
import { byUrgency, usePaging, type ScreenAlert } from '../screen-alerts.js';
import { session } from '../session.js';
import type { Overview, OverviewEstate, Page } from '../types.js';
import { AlertPanel } from './alert-panel.js';
import { ScreenNav } from './nav.js';
import { Pager, ScreenAlertRow } from './screen-alert-row.js';
import { EstateTile, healthOf, rank, useGridLayout } from './street-grid.js';
import { useBacklog } from './orders-backlog.js';
import { OrderFiguresSection, useOrderFigures } from './orders-figures.js';
import { OrderNotices } from './orders-notice.js';
import { navigate } from '../router.js';

export { healthOf } from './street-grid.js';

/** The overview as the hub sends it, with the street's name when it gives one. */
type StreetOverview = Overview & { street?: { id: string; name?: string | null } | null; streets?: Array<{ id: string; name?: string | null }> };
type NamedEstate = OverviewEstate & { streetName?: string | null };

/** The street's name: from the overview, else the estates' street (its id when nothing names it). */
function streetName(o: StreetOverview | undefined): string | null {
  if (!o) return null;
  if (o.street?.name) return o.street.name;
  const ids = [...new Set(o.estates.map((e) => e.street).filter((s): s is string => !!s))];
  const named = ids.map((id) => o.streets?.find((s) => s.id === id)?.name ?? (o.estates as NamedEstate[]).find((e) => e.street === id && e.streetName)?.streetName ?? id);
  return named.length ? named.join('、') : null;
}

const UNRESOLVED = 'open,escalated,acknowledged';
/** Unresolved alerts read at once (the API's maximum page). */
const LIMIT = 500;

/**
 * The street property-service center's wall (1920×1080, no scrolling): every estate in scope as a
 * tile coloured by health (2 to 60 and more fill the screen), and the open alerts of all of them,
 * most urgent first, to act on.
 */
export function StreetView() {
  const now = useNow(1_000);
  const overview = useLoad<StreetOverview>('/api/v1/overview');
  // Loaded over REST, kept live; pushes that come during a reload are kept on top of its answer.
  const [alerts, alertsLive] = useLiveState<ScreenAlert[]>([]);
  const [alertsError, setAlertsError] = useState<string | null>(null);
  const [selected, setSelected] = useState<ScreenAlert | null>(null);

  const [loaded, setLoaded] = useState(false);
  const loadAlerts = () =>
    alertsLive.load(async () => (await api<Page<ScreenAlert>>(`/api/v1/alerts?state=${UNRESOLVED}&limit=${LIMIT}`)).items).then(
      () => (setLoaded(true), setAlertsError(null)),
      (err) => setAlertsError(describeError(err)),
    );
  const backlog = useBacklog();
  const orderFigures = useOrderFigures();
  useSync([], () => Promise.all([overview.reload(), loadAlerts()]));
  // Pushes only say that something changed; the overview is computed by the hub: re-read it, at most every 2 s.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const soon = () => {
    if (!timer.current) timer.current = setTimeout(() => ((timer.current = undefined), void overview.reload()), 2_000);
  };
  useEffect(() => () => clearTimeout(timer.current), []);
  const onAlert = (a: ScreenAlert) => {
    alertsLive.change((list) => (a.state === 'resolved' ? list.filter((x) => x.id !== a.id) : upsert(list, a)));
    setSelected((s) => (s && s.id === a.id ? a : s));
    soon();
  };
  useLive<ScreenAlert>('alert:new', onAlert);
  useLive<ScreenAlert>('alert:update', onAlert);
  useLive('device:state', soon);

  const data = overview.data;
  // The tiles count open alerts from the live list when it holds them all, so a tile and the list
  // never disagree (the overview is re-read at most every 2 s).
  const live = useMemo(() => {
    if (!loaded || alerts.length >= LIMIT) return null;
    const by = new Map<string, Partial<Record<'1' | '2' | '3' | '4', number>>>();
    for (const a of alerts) {
      const c = by.get(a.estate) ?? {};
      const k = String(a.severity) as '1' | '2' | '3' | '4';
      c[k] = (c[k] ?? 0) + 1;
      by.set(a.estate, c);
    }
    return by;
  }, [alerts, loaded]);
  const estates = (data?.estates ?? [])
    .map((e) => (live ? { ...e, openAlerts: live.get(e.id) ?? {} } : e))
    .sort((a, b) => rank(healthOf(b)) - rank(healthOf(a)) || (a.name ?? a.id).localeCompare(b.name ?? b.id));
  const estateNames = useMemo(() => new Map((data?.estates ?? []).map((e) => [e.id, e.name ?? e.id])), [data]);
  const named = useMemo(() => alerts.map((a) => (a.estateName ? a : { ...a, estateName: estateNames.get(a.estate) })).sort(byUrgency), [alerts, estateNames]);
  const listRef = useRef<HTMLUListElement>(null);
  const paging = usePaging(named, listRef, { paused: selected !== null });
  const gridRef = useRef<HTMLUListElement>(null);
  const layout = useGridLayout(gridRef, estates.length);
  const names = (actor?: string, n?: string) => actorName(actor, [], session.value?.user, n);
  const street = streetName(data);
  const escalated = alerts.filter((a) => a.state === 'escalated').length;

  return (
    <div class={`street ${selected ? 'with-panel' : ''}`}>
      <OrderNotices onOpen={(o) => navigate(`/estate/${encodeURIComponent(o.estate)}?order=${encodeURIComponent(o.id)}`)} />
      <TopBar title={street ? t('street.titleOf', { name: street }) : t('street.title')}>
        <ScreenNav />
        <span class="clock" aria-hidden="true">
          {formatTime(now)}
        </span>
      </TopBar>
      <main class="street-main">
        <div class="street-left">
          <ErrorNote what={t('street.title')} error={overview.error} onRetry={() => void overview.reload()} />
          <ErrorNote what={t('orders.backlog')} error={backlog.error} />
          <ErrorNote what={t('orders.figures')} error={orderFigures.error} />
          {data && (
            <section class="response" aria-labelledby="h-resp">
              <h2 id="h-resp">{t('street.response')}</h2>
              <dl class="counts wide">
                <div>
                  <dt>{t('street.estates')}</dt>
                  <dd data-testid="estate-count">{data.estates.length}</dd>
                </div>
                <div>
                  <dt>{t('street.medianAck')}</dt>
                  <dd>{formatDuration(data.response.medianAckS)}</dd>
                </div>
                <div>
                  <dt>{t('street.medianResolve')}</dt>
                  <dd>{formatDuration(data.response.medianResolveS)}</dd>
                </div>
                <div>
                  <dt>{t('street.p90Ack')}</dt>
                  <dd>{formatDuration(data.response.p90AckS)}</dd>
                </div>
                <div>
                  <dt>{t('street.escalated')}</dt>
                  <dd>{data.response.escalated}</dd>
                </div>
              </dl>
            </section>
          )}
          {orderFigures.figures && <OrderFiguresSection figures={orderFigures.figures} />}
          {data && estates.length === 0 && <p class="muted">{t('street.none')}</p>}
          <ul class="estate-tiles" ref={gridRef} data-cols={layout.cols} data-density={layout.density} style={{ gridTemplateColumns: `repeat(${layout.cols}, minmax(0, 1fr))`, gridTemplateRows: `repeat(${layout.rows}, ${layout.height}px)` }}>
            {estates.map((e) => (
              <EstateTile key={e.id} estate={e} density={layout.density} backlog={backlog.by.get(e.id)} />
            ))}
          </ul>
        </div>
        <section class="panel street-alerts" aria-labelledby="h-street-alerts">
          <h2 id="h-street-alerts">
            {t('street.alerts')} <span class="count">{alerts.length}</span>
            {escalated > 0 && <span class="pill bad escalated-count">{t('street.escalatedNow', { n: escalated })}</span>}
          </h2>
          <ErrorNote what={t('street.alerts')} error={alertsError} onRetry={() => void loadAlerts()} />
          {named.length === 0 && !alertsError && <p class="muted big-empty">{t('alerts.none')}</p>}
          <ul class="alert-list paged" ref={listRef}>
            {paging.rows.map((a) => (
              <ScreenAlertRow key={a.id} alert={a} now={now} names={names} showEstate selected={selected?.id === a.id} onOpen={setSelected} />
            ))}
          </ul>
          <Pager paging={paging} />
        </section>
      </main>
      {selected && <AlertPanel alert={selected} estateNames={estateNames} onClose={() => setSelected(null)} onChange={onAlert} />}
    </div>
  );
}
