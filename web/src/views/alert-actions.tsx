import { useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import { t } from '../i18n/index.js';
import type { Person } from '../people.js';
import { session } from '../session.js';
import type { Alert } from '../types.js';

type Kind = 'ack' | 'resolve' | 'assign' | 'comment';

/** POST an alert action; the hub answers with the alert as it is now. */
async function post(id: string, kind: Kind, body: Record<string, unknown>): Promise<Alert | undefined> {
  const updated = await api<Alert | undefined>(`/api/v1/alerts/${id}/${kind}`, { method: 'POST', body });
  return updated && typeof updated === 'object' && updated.id === id ? updated : undefined;
}

/**
 * What a person does with an alert: acknowledge; resolve with a required note (a second step to
 * confirm); and, in `full` (the detail), assign / reassign and comment. Errors are kept as they came
 * and put in words at render time, so a language switch translates them too.
 */
export function AlertActions(props: { alert: Alert; onChange: (a: Alert) => void; full?: boolean; candidates?: Person[]; onCommented?: () => void }) {
  const a = props.alert;
  const [resolving, setResolving] = useState(false);
  const [note, setNote] = useState('');
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<Kind | null>(null);
  const [error, setError] = useState<{ kind: 'note' } | { kind: 'failed'; err: unknown } | null>(null);
  const me = session.value?.user;

  async function act(kind: Kind, body: Record<string, unknown> = {}) {
    setBusy(kind);
    setError(null);
    try {
      const updated = await post(a.id, kind, body);
      if (updated) props.onChange(updated);
      if (kind === 'resolve') setResolving(false);
      if (kind === 'comment') {
        setComment('');
        props.onCommented?.();
      }
    } catch (err) {
      setError({ kind: 'failed', err });
    } finally {
      setBusy(null);
    }
  }

  function resolve() {
    if (!note.trim()) return setError({ kind: 'note' });
    void act('resolve', { note: note.trim() });
  }

  const resolved = a.state === 'resolved';
  const others = (props.candidates ?? []).filter((p, i, all) => p.id && p.id !== me?.id && all.findIndex((q) => q.id === p.id) === i);
  const assignedToMe = !!me && a.assignee === `user:${me.id}`;

  return (
    <div class="alert-actions">
      {error && (
        <p class="error" role="alert">
          {error.kind === 'note' ? t('alert.noteRequired') : t('alert.failed', { detail: describeError(error.err) })}
        </p>
      )}
      {!resolved &&
        (resolving ? (
          <div class="resolve">
            <label>
              {t('alert.note')}
              <textarea rows={3} value={note} placeholder={t('alert.notePlaceholder')} onInput={(e) => setNote(e.currentTarget.value)} />
            </label>
            <div class="actions">
              <button type="button" class="btn primary" disabled={busy !== null} onClick={resolve}>
                {t('alert.confirmResolve')}
              </button>
              <button type="button" class="btn" disabled={busy !== null} onClick={() => setResolving(false)}>
                {t('alert.cancel')}
              </button>
            </div>
          </div>
        ) : (
          <div class="actions">
            {(a.state === 'open' || a.state === 'escalated') && (
              <button type="button" class="btn primary" disabled={busy !== null} onClick={() => void act('ack')}>
                {t('alert.ack')}
              </button>
            )}
            <button type="button" class="btn" disabled={busy !== null} onClick={() => setResolving(true)}>
              {t('alert.resolve')}
            </button>
          </div>
        ))}
      {props.full && !resolved && (
        <div class="assign" data-testid="assign">
          {!assignedToMe && me && (
            <button type="button" class="btn" disabled={busy !== null} onClick={() => void act('assign', { user: me.id })}>
              {t('alert.assignMe')}
            </button>
          )}
          {others.length > 0 && (
            <select aria-label={t('alert.assignTo')} value="" disabled={busy !== null} onChange={(e) => e.currentTarget.value && void act('assign', { user: e.currentTarget.value })}>
              <option value="">{t('alert.assignPick')}</option>
              {others.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
          {a.assignee && (
            <button type="button" class="btn" disabled={busy !== null} onClick={() => void act('assign', { user: null })}>
              {t('alert.unassign')}
            </button>
          )}
        </div>
      )}
      {props.full && (
        <form
          class="comment"
          onSubmit={(e) => {
            e.preventDefault();
            if (comment.trim()) void act('comment', { text: comment.trim() });
          }}
        >
          <label>
            {t('alert.comment')}
            <textarea rows={2} value={comment} placeholder={t('alert.commentPlaceholder')} onInput={(e) => setComment(e.currentTarget.value)} />
          </label>
          <button type="submit" class="btn" disabled={busy !== null || !comment.trim()}>
            {t('alert.commentSend')}
          </button>
        </form>
      )}
    </div>
  );
}
