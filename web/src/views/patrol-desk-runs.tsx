import { useEffect, useMemo } from 'preact/hooks';
import { ErrorNote } from '../components.js';
import { lang, t } from '../i18n/index.js';
import { useLoad } from '../load.js';
import type { PatrolHistoryItem, PatrolRunView } from '../../../protocol/patrol.js';

const MARK: Record<string, string> = { scanned: '✓', late: '⚠', missed: '✗', pending: '○' };

/** "HH:MM" in the hub's time zone (the rounds' start times are its local times). */
function useHm(tz: string) {
  return useMemo(() => new Intl.DateTimeFormat(lang.value, { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false }), [lang.value, tz]);
}

/** 今日巡更: today's runs of the estate (hub's local day), each point's state, who scanned it and when. */
export function TodayRuns(props: { estate: string; refresh: number }) {
  const runs = useLoad<{ timeZone: string; items: PatrolRunView[] }>(`/api/v1/patrol/runs?estate=${encodeURIComponent(props.estate)}`);
  useEffect(() => void runs.reload(), [props.estate, props.refresh]);
  const hm = useHm(runs.data?.timeZone ?? 'Asia/Shanghai');
  const items = runs.data?.items ?? [];
  return (
    <>
      <ErrorNote what={t('pd.today')} error={runs.error} onRetry={() => void runs.reload()} />
      {runs.data && items.length === 0 && <p class="muted">{t('pd.noRuns')}</p>}
      <ul class="pd-runs" data-testid="pd-runs">
        {items.map((r) => (
          <li key={r.id} class={`pd-card pd-run ${r.state}`} data-run={r.id} data-state={r.state}>
            <p class="pd-name">
              <b>{r.roundName}</b> <span class="muted">{t('patrol.window', { from: hm.format(r.startsAt), to: hm.format(r.endsAt) })}</span> · <span data-testid="run-state">{t(`patrol.state.${r.state}`)}</span>
            </p>
            <ol class="pd-points">
              {r.points.map((p) => (
                <li key={p.checkpoint} class={`point ${p.state}`} data-checkpoint={p.checkpoint} data-state={p.state}>
                  <span aria-hidden="true">{MARK[p.state]}</span> {p.name} · {t(`patrol.point.${p.state}`)}{' '}
                  <span class="muted">· {p.scannedAt !== undefined ? t('pd.by', { who: p.userName ?? '', time: hm.format(p.scannedAt) }) : t('pd.dueAt', { time: hm.format(p.dueAt) })}</span>
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ul>
    </>
  );
}

/** 巡更记录: everyone's scans in the estate, newest first, grouped per person (by name); times in the hub's zone. */
export function PatrolHistory(props: { estate: string; tz: string; refresh: number }) {
  const history = useLoad<PatrolHistoryItem[]>(`/api/v1/patrol/history?user=*&estate=${encodeURIComponent(props.estate)}&limit=200`, (r) => (r as { items: PatrolHistoryItem[] }).items);
  useEffect(() => void history.reload(), [props.estate, props.refresh]);
  const dt = useMemo(() => new Intl.DateTimeFormat(lang.value, { timeZone: props.tz, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }), [lang.value, props.tz]);
  const people = useMemo(() => {
    const by = new Map<string, { name: string; items: PatrolHistoryItem[] }>();
    for (const h of history.data ?? []) {
      const p = by.get(h.userId) ?? { name: h.userName, items: [] };
      p.items.push(h);
      by.set(h.userId, p);
    }
    return [...by.entries()];
  }, [history.data]);
  return (
    <>
      <ErrorNote what={t('pd.history')} error={history.error} onRetry={() => void history.reload()} />
      {history.data && people.length === 0 && <p class="muted">{t('pd.noHistory')}</p>}
      <ul class="pd-people" data-testid="pd-people">
        {people.map(([id, p]) => (
          <li key={id} class="pd-card" data-person={p.name}>
            <details>
              <summary>
                <b>{p.name}</b> <span class="muted">{t('pd.scans', { n: p.items.length, late: p.items.filter((h) => h.late).length })}</span>
              </summary>
              <ul class="patrol-history">
                {p.items.map((h) => (
                  <li key={`${h.run}/${h.checkpoint}`}>
                    {dt.format(h.scannedAt)} · {h.name} · <span class="muted">{h.roundName}</span>
                    {h.late && <span class="patrol-late"> · {t('patrol.point.late')}</span>}
                  </li>
                ))}
              </ul>
            </details>
          </li>
        ))}
      </ul>
    </>
  );
}
