import { useEffect, useState } from 'preact/hooks';
import { ErrorNote, EstateSelect, TopBar } from '../components.js';
import { t } from '../i18n/index.js';
import { useLive } from '../live.js';
import { useLoad } from '../load.js';
import { session } from '../session.js';
import type { PatrolCheckpointView, PatrolRoundView } from '../../../protocol/patrol.js';
import type { Alert, EstateRef } from '../types.js';
import { ScreenNav } from './nav.js';
import { RoleOnlyPage } from './pages.js';
import { Checkpoints } from './patrol-desk-checkpoints.js';
import { Rounds } from './patrol-desk-rounds.js';
import { PatrolHistory, TodayRuns } from './patrol-desk-runs.js';
import '../patrol-desk.css';

/**
 * `/patrol` (center, admin): manage an estate's patrol checkpoints (巡更点: add, rename, a new code,
 * delete, each QR code and the printable A4 sheet) and rounds (巡更路线: start times, window,
 * checkpoints in order), and see today's runs and everyone's history (read-only). Others get the
 * role-only page. REST: hub/patrol/api.ts; docs/work-orders.md "Patrol rounds".
 */
export function PatrolDeskView() {
  const role = session.value?.user.role;
  if (role !== 'center' && role !== 'admin') return <RoleOnlyPage title={t('pd.title')} />;
  return <PatrolDesk />;
}

/** The runs' states change with the clock: looked at again this often while the page is open. */
const REFRESH_MS = 30_000;

function PatrolDesk() {
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  useEffect(() => void me.reload(), []);
  const estates = me.data?.estates ?? [];
  const [picked, setPicked] = useState<string | null>(null);
  const estate = picked ?? estates[0]?.id ?? null;
  const q = estate ? `estate=${encodeURIComponent(estate)}` : null;
  const checkpoints = useLoad<PatrolCheckpointView[]>(q && `/api/v1/patrol/checkpoints?${q}`, (r) => (r as { items: PatrolCheckpointView[] }).items);
  const rounds = useLoad<{ timeZone: string; items: PatrolRoundView[] }>(q && `/api/v1/patrol/rounds?${q}`);
  const [runsKey, setRunsKey] = useState(0);
  const reload = () => Promise.all([checkpoints.reload(), rounds.reload()]).then(() => setRunsKey((k) => k + 1));
  useEffect(() => {
    // Another estate: nothing of the last one stays on screen (or in the round form's picker) meanwhile.
    checkpoints.set(() => undefined);
    rounds.set(() => undefined);
    if (estate) void reload();
  }, [estate]);
  useEffect(() => {
    const every = setInterval(() => setRunsKey((k) => k + 1), REFRESH_MS);
    return () => clearInterval(every);
  }, []);
  // A missed checkpoint is an alert: today's runs change with it.
  useLive<Alert>('alert:new', (a) => a.rule === 'patrol.missed' && setRunsKey((k) => k + 1));
  const estateName = estates.find((e) => e.id === estate)?.name ?? estate ?? '';
  const tz = rounds.data?.timeZone ?? 'Asia/Shanghai';

  return (
    <div class="desk">
      <TopBar title={t('pd.title')}>
        <ScreenNav />
      </TopBar>
      <main class="desk-main patrol-desk">
        <ErrorNote what={t('me.estate')} error={me.error} onRetry={() => void me.reload()} />
        <div class="toolbar">
          <EstateSelect estates={estates} value={estate} onChange={(v) => v && setPicked(v)} />
        </div>
        {estate && (
          <>
            <section class="desk-section" aria-labelledby="h-pd-checkpoints" data-testid="pd-checkpoints">
              <h2 id="h-pd-checkpoints">{t('pd.checkpoints')}</h2>
              <ErrorNote what={t('pd.checkpoints')} error={checkpoints.error} onRetry={() => void checkpoints.reload()} />
              <Checkpoints key={estate} estate={estate} estateName={estateName} items={checkpoints.data ?? []} onChanged={reload} />
            </section>
            <section class="desk-section" aria-labelledby="h-pd-rounds" data-testid="pd-rounds">
              <h2 id="h-pd-rounds">{t('pd.rounds')}</h2>
              <ErrorNote what={t('pd.rounds')} error={rounds.error} onRetry={() => void rounds.reload()} />
              <Rounds key={estate} estate={estate} tz={tz} items={rounds.data?.items ?? []} checkpoints={checkpoints.data ?? []} onChanged={reload} />
            </section>
            <div class="pd-columns">
              <section class="desk-section" aria-labelledby="h-pd-today" data-testid="pd-today">
                <h2 id="h-pd-today">{t('pd.today')}</h2>
                <TodayRuns estate={estate} refresh={runsKey} />
              </section>
              <section class="desk-section" aria-labelledby="h-pd-history" data-testid="pd-history">
                <h2 id="h-pd-history">{t('pd.history')}</h2>
                <PatrolHistory estate={estate} tz={tz} refresh={runsKey} />
              </section>
            </div>
          </>
        )}
      </main>
    </div>
  );
}
