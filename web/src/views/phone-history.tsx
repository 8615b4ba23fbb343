import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import { serverNow } from '../clock.js';
import { ErrorNote, SeverityBadge } from '../components.js';
import { formatDateTime, formatTime } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { useLive } from '../live.js';
import type { Alert, HistoryPage } from '../types.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** The hub refuses a span over 92 days; older than that is the dashboards' job. */
const OLDEST_MS = 91 * DAY_MS;

type Day = HistoryPage['days'][number];

/** Merge a page into the days shown (a day split across pages is one day). */
function merge(days: Day[], page: Day[]): Day[] {
  const out = days.map((d) => ({ ...d, items: [...d.items] }));
  for (const d of page) {
    const same = out.find((x) => x.day === d.day);
    if (same) same.items.push(...d.items.filter((a) => !same.items.some((b) => b.id === a.id)));
    else out.push({ ...d, items: [...d.items] });
  }
  return out.sort((a, b) => (a.day < b.day ? 1 : -1));
}

/**
 * Resolved alerts of my scope by day and type (`GET /api/v1/alerts/history`), with who resolved them
 * and the note they left: what a volunteer notified at night finds in the morning. A week at a time,
 * earlier on demand; an alert resolved while the page is open is added at once.
 */
export function PhoneHistory(props: { estate: string | null; estateNames: ReadonlyMap<string, string>; showEstate: boolean; names: (actor?: string, name?: string) => string; onOpen: (id: string) => void }) {
  const [rule, setRule] = useState('');
  const [days, setDays] = useState<Day[]>([]);
  const [cursor, setCursor] = useState<{ from: number; to: number; before?: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const start = useRef(serverNow());
  const gen = useRef(0);

  async function load(window: { from: number; to: number; before?: string }, reset: boolean) {
    const mine = ++gen.current;
    setLoading(true);
    const q = new URLSearchParams({ from: String(Math.round(window.from)), to: String(Math.round(window.to)), limit: '100' });
    if (props.estate) q.set('estate', props.estate);
    if (rule) q.set('rule', rule);
    if (window.before) q.set('before', window.before);
    try {
      const page = await api<HistoryPage>(`/api/v1/alerts/history?${q.toString()}`);
      if (mine !== gen.current) return;
      setDays((d) => merge(reset ? [] : d, page.days ?? []));
      // More of this window, else the week before (while within the hub's limit).
      const older = window.from > start.current - OLDEST_MS ? { from: Math.max(window.from - WEEK_MS, start.current - OLDEST_MS), to: window.from } : null;
      setCursor(page.next ? { ...window, before: page.next } : older);
      setError(null);
    } catch (err) {
      if (mine === gen.current) setError(err);
    } finally {
      if (mine === gen.current) setLoading(false);
    }
  }

  useEffect(() => {
    start.current = serverNow();
    void load({ from: start.current - WEEK_MS, to: start.current + 60_000 }, true);
  }, [props.estate, rule]);

  // Resolved while this page is open: it belongs at the top of today.
  useLive<Alert>('alert:update', (a) => {
    if (a.state !== 'resolved' || (props.estate && a.estate !== props.estate) || (rule && a.rule !== rule)) return;
    void load({ from: start.current - WEEK_MS, to: serverNow() + 60_000 }, true);
  });

  const rules = [...new Set(days.flatMap((d) => Object.keys(d.counts ?? {})))].sort();
  return (
    <section class="history" aria-labelledby="h-history">
      <h2 id="h-history">{t('history.title')}</h2>
      <label class="field">
        {t('history.rule')}
        <select value={rule} onChange={(e) => setRule(e.currentTarget.value)} data-testid="history-rule">
          <option value="">{t('history.allRules')}</option>
          {[...new Set([...rules, ...(rule ? [rule] : [])])].map((r) => (
            <option key={r} value={r}>
              {tOr('rule', r)}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote what={t('history.title')} error={error ? describeError(error) : null} onRetry={() => void load({ from: start.current - WEEK_MS, to: serverNow() + 60_000 }, true)} />
      {!loading && !error && days.length === 0 && <p class="muted">{t('history.none')}</p>}
      {days.map((d) => (
        <div class="history-day" key={d.day} data-day={d.day}>
          <h3>{d.day}</h3>
          <p class="day-counts">
            {Object.entries(d.counts ?? {}).map(([r, n]) => (
              <span key={r} class="pill">
                {t('history.count', { rule: tOr('rule', r), n })}
              </span>
            ))}
          </p>
          <ul class="history-items">
            {d.items.map((a) => (
              <li key={a.id} class={`card sev-row-${a.severity}`} data-alert-id={a.id}>
                <button type="button" class="history-item" onClick={() => props.onOpen(a.id)}>
                  <span class="alert-head">
                    <SeverityBadge severity={a.severity} /> <b>{tOr('rule', a.rule)}</b>
                  </span>
                  <span class="alert-meta">
                    {props.showEstate && <>{a.estateName ?? props.estateNames.get(a.estate) ?? a.estate} · </>}
                    {a.deviceName ?? a.device} · {formatDateTime(a.openedAt)}
                  </span>
                  {a.resolvedAt && <span class="alert-meta">{t('history.resolvedBy', { time: formatTime(a.resolvedAt), who: props.names(a.resolvedBy, a.resolvedByName) })}</span>}
                  {a.resolution && (
                    <span class="resolution" data-testid="resolution">
                      {t('alert.resolution', { note: a.resolution })}
                    </span>
                  )}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {cursor && !error && (
        <button type="button" class="btn" disabled={loading} onClick={() => void load(cursor, false)}>
          {loading ? t('loading') : t('history.more')}
        </button>
      )}
    </section>
  );
}
