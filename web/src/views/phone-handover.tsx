import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import { Age, ErrorNote, SeverityBadge } from '../components.js';
import { formatDateTime } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { conditionCleared } from '../labels.js';
import type { Loaded } from '../load.js';
import { toPeople, type Handover, type Person } from '../people.js';
import type { Alert, HandoverNote } from '../types.js';

/** A hand-over note as the hub sends it (POST answer, `handover:new`, `lastHandover`), read tolerantly. */
export function toNote(raw: unknown): HandoverNote | null {
  if (!raw || typeof raw !== 'object') return null;
  const o = raw as Record<string, unknown>;
  const src = (o.handover && typeof o.handover === 'object' ? o.handover : o) as Record<string, unknown>;
  const at = typeof src.at === 'number' ? src.at : typeof src.createdAt === 'number' ? src.createdAt : NaN;
  if (typeof src.note !== 'string' || typeof src.estate !== 'string' || !Number.isFinite(at)) return null;
  const by = src.from ?? src.by ?? src.user ?? src.actor;
  const byName = src.fromName ?? src.byName ?? src.userName ?? src.actorName;
  const to = Array.isArray(src.to) ? toPeople(src.to).map((p) => p.name) : [];
  return {
    estate: src.estate,
    at,
    note: src.note,
    ...(typeof src.id === 'string' ? { id: src.id } : {}),
    ...(typeof by === 'string' ? { by } : {}),
    ...(typeof byName === 'string' ? { byName } : {}),
    ...(to.length ? { to } : {}),
  };
}

const who = (list: Person[]): string => (list.length ? list.map((p) => p.name).join('、') : t('none'));

/**
 * Hand-over as an action (issue 15 item 5): who is on duty now and next, the latest note (live, by
 * `handover:new`), 交班 with a note, and the open alerts of the estate — fed by the same live list as
 * the alert tab, so it never says "no open alerts" beside open ones.
 */
export function HandoverPanel(props: {
  estate: string | null;
  loaded: Loaded<Handover & { last: HandoverNote | null }>;
  alerts: Alert[];
  note: HandoverNote | null;
  onNote: (n: HandoverNote) => void;
  onSeen: () => void;
  now: number;
}) {
  const [writing, setWriting] = useState(false);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ kind: 'required' } | { kind: 'failed'; err: unknown } | null>(null);
  const [done, setDone] = useState<number | null>(null);
  useEffect(props.onSeen, [props.note?.at]);

  if (!props.estate) return <p class="muted">{t('me.pickEstate')}</p>;
  const estate = props.estate;
  const data = props.loaded.data;

  async function submit() {
    if (!text.trim()) return setError({ kind: 'required' });
    setBusy(true);
    setError(null);
    try {
      const res = await api<unknown>('/api/v1/roster/handover', { method: 'POST', body: { estate, note: text.trim() } });
      const n = toNote(res);
      if (n) props.onNote(n);
      setDone(n?.at ?? Date.now());
      setWriting(false);
      setText('');
    } catch (err) {
      setError({ kind: 'failed', err });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="handover" aria-labelledby="h-handover">
      <h2 id="h-handover">{t('handover.title')}</h2>
      <ErrorNote what={t('handover.title')} error={props.loaded.error} onRetry={() => void props.loaded.reload()} />
      {data && (
        <>
          <p>
            <b>{t('handover.now')}</b>: {who(data.now)}
          </p>
          <p>
            <b>{t('handover.next')}</b>: {who(data.next)}
          </p>
        </>
      )}
      <div class="handover-note" data-testid="handover-note">
        <h3>{t('handover.last')}</h3>
        {props.note ? (
          <>
            <p class="muted">
              {props.note.to?.length ? t('handover.fromTo', { from: props.note.byName ?? t('none'), to: props.note.to.join('、') }) : (props.note.byName ?? t('none'))} · {formatDateTime(props.note.at)}
            </p>
            <p class="note-text">{props.note.note}</p>
          </>
        ) : (
          <p class="muted">{t('handover.noneYet')}</p>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error.kind === 'required' ? t('handover.noteRequired') : t('alert.failed', { detail: describeError(error.err) })}
        </p>
      )}
      {done && !writing && (
        <p class="ok-note" role="status" data-testid="handover-done">
          {t('handover.done', { time: formatDateTime(done) })}
        </p>
      )}
      {writing ? (
        <div class="resolve">
          <label>
            {t('handover.note')}
            <textarea rows={4} value={text} placeholder={t('handover.notePlaceholder')} onInput={(e) => setText(e.currentTarget.value)} data-testid="handover-text" />
          </label>
          <div class="actions">
            <button type="button" class="btn primary" disabled={busy} onClick={() => void submit()}>
              {t('handover.submit')}
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => setWriting(false)}>
              {t('alert.cancel')}
            </button>
          </div>
        </div>
      ) : (
        <button type="button" class="btn primary big" onClick={() => setWriting(true)} data-testid="handover-start">
          {t('handover.action')}
        </button>
      )}
      <h3>
        {t('handover.open')} <span class="count">{props.alerts.length}</span>
      </h3>
      {props.alerts.length === 0 ? (
        <p class="muted">{t('alerts.none')}</p>
      ) : (
        <ol class="handover-alerts" data-testid="handover-alerts">
          {props.alerts.map((a) => (
            <li key={a.id} data-alert-id={a.id}>
              <SeverityBadge severity={a.severity} /> {tOr('rule', a.rule)} · {a.deviceName ?? a.device} · <Age at={a.openedAt} now={props.now} />
              {conditionCleared(a) && <span class="cleared"> · {conditionCleared(a)}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
