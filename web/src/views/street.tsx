import { useRef } from 'preact/hooks';
import { ErrorNote, TopBar } from '../components.js';
import { formatDuration } from '../format.js';
import { t } from '../i18n/index.js';
import { useLive, useSync } from '../live.js';
import { useLoad } from '../load.js';
import { navigate } from '../router.js';
import type { Overview, OverviewEstate } from '../types.js';

type Health = 'ok' | 'warn' | 'bad' | 'none';

/**
 * Red: a gateway down or a major/critical alert open. Amber: devices offline or minor alerts. Grey: no
 * gateway installed yet (nothing to judge by).
 */
export function healthOf(e: OverviewEstate): Health {
  const open = (s: '1' | '2' | '3' | '4') => e.openAlerts[s] ?? 0;
  if (e.gatewaysOnline < e.gatewaysTotal || open('3') + open('4') > 0) return 'bad';
  if (e.gatewaysTotal === 0) return 'none';
  if (e.devicesOffline > 0 || open('1') + open('2') > 0) return 'warn';
  return 'ok';
}

/** The street property-service center's desktop: every estate in scope, by health; drill down. */
export function StreetView() {
  const overview = useLoad<Overview>('/api/v1/overview');
  useSync([], overview.reload);
  // Pushes only say that something changed; the overview is computed by the hub: re-read it, at most every 2 s.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const soon = () => {
    if (!timer.current) timer.current = setTimeout(() => ((timer.current = undefined), void overview.reload()), 2_000);
  };
  useLive('alert:new', soon);
  useLive('alert:update', soon);
  useLive('device:state', soon);

  const data = overview.data;
  const estates = (data?.estates ?? []).slice().sort((a, b) => rank(healthOf(b)) - rank(healthOf(a)) || a.id.localeCompare(b.id));
  return (
    <div class="street">
      <TopBar title={t('street.title')} />
      <main class="street-main">
        <ErrorNote what={t('street.title')} error={overview.error} onRetry={() => void overview.reload()} />
        {data && (
          <section class="response" aria-labelledby="h-resp">
            <h2 id="h-resp">{t('street.response')}</h2>
            <dl class="counts wide">
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
        {data && estates.length === 0 && <p class="muted">{t('street.none')}</p>}
        <ul class="estate-tiles">
          {estates.map((e) => (
            <EstateTile key={e.id} estate={e} />
          ))}
        </ul>
      </main>
    </div>
  );
}

const rank = (h: Health): number => ({ bad: 3, warn: 2, ok: 1, none: 0 })[h];

function EstateTile(props: { estate: OverviewEstate }) {
  const e = props.estate;
  const health = healthOf(e);
  const href = `/estate/${e.id}`;
  const name = e.name ?? e.id;
  return (
    <li>
      <a
        class={`estate-tile health-${health}`}
        href={href}
        data-estate={e.id}
        aria-label={t('street.open', { name })}
        onClick={(ev) => {
          if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
          ev.preventDefault();
          navigate(href);
        }}
      >
        <h3>{name}</h3>
        <p class="health-label">{t(`street.health.${health}`)}</p>
        <p>{t('street.gateways', { online: e.gatewaysOnline, total: e.gatewaysTotal })}</p>
        <p>{t('street.devicesOffline', { n: e.devicesOffline, total: e.devicesTotal })}</p>
        <p class="sev-counts">
          <span class="label">{t('street.openAlerts')}</span>
          {(['4', '3', '2', '1'] as const).map((s) => (
            <span key={s} class={`sev sev-${s} ${(e.openAlerts[s] ?? 0) === 0 ? 'zero' : ''}`} title={t(`sev.${s}`)}>
              {t(`sev.${s}`)} {e.openAlerts[s] ?? 0}
            </span>
          ))}
        </p>
      </a>
    </li>
  );
}
