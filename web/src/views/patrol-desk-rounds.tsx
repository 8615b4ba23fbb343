import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { t } from '../i18n/index.js';
import type { PatrolCheckpointView, PatrolRoundView } from '../../../protocol/patrol.js';
import { done, failed, NoteLine, type Note } from './note.js';

type Draft = { id?: string; name: string; starts: string; windowMinutes: string; enabled: boolean; points: Array<{ checkpoint: string; due: string }> };
const EMPTY: Draft = { name: '', starts: '', windowMinutes: '60', enabled: true, points: [] };

const draftOf = (r: PatrolRoundView): Draft => ({
  id: r.id,
  name: r.name,
  starts: r.starts.join(', '),
  windowMinutes: String(r.windowMinutes),
  enabled: r.enabled,
  points: r.points.map((p) => ({ checkpoint: p.checkpoint, due: p.dueMinutes === undefined ? '' : String(p.dueMinutes) })),
});

/** The request body: start times split on commas or spaces, numbers as typed (the hub checks them all). */
function bodyOf(d: Draft) {
  return {
    name: d.name,
    starts: d.starts.split(/[\s,，、;；]+/).filter(Boolean),
    windowMinutes: d.windowMinutes.trim() === '' ? null : Number(d.windowMinutes),
    enabled: d.enabled,
    points: d.points.map((p) => ({ checkpoint: p.checkpoint, ...(p.due.trim() === '' ? {} : { dueMinutes: Number(p.due) }) })),
  };
}

/** The fields a 400 names (`starts.0: must be …; windowMinutes: …`): marked invalid next to the message. */
function badFields(err: unknown): Set<string> {
  if (!(err instanceof ApiError) || err.status !== 400) return new Set();
  return new Set(err.message.split('; ').map((part) => part.split(/[.:]/)[0]!.trim()));
}

/** The estate's rounds: each with its start times, window and checkpoints in order; add, edit, delete. */
export function Rounds(props: { estate: string; tz: string; items: PatrolRoundView[]; checkpoints: PatrolCheckpointView[]; onChanged: () => Promise<unknown> }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [formNote, setFormNote] = useState<Note | null>(null);
  const [bad, setBad] = useState<Set<string>>(new Set());
  const [note, setNote] = useState<Note | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameOf = (id: string) => props.checkpoints.find((c) => c.id === id)?.name ?? id;

  const save = async () => {
    setBusy(true);
    setFormNote(null);
    try {
      const body = bodyOf(draft);
      if (draft.id) await api(`/api/v1/patrol/rounds/${encodeURIComponent(draft.id)}`, { method: 'PUT', body });
      else await api('/api/v1/patrol/rounds', { method: 'POST', body: { estate: props.estate, ...body } });
      setBad(new Set());
      setDraft(EMPTY);
      setNote(done('pd.saved', { name: body.name.trim() }));
      await props.onChanged();
    } catch (err) {
      setBad(badFields(err));
      setFormNote(failed(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (r: PatrolRoundView) => {
    setConfirm(null);
    setNote(null);
    try {
      await api(`/api/v1/patrol/rounds/${encodeURIComponent(r.id)}`, { method: 'DELETE' });
      setNote(done('pd.deleted', { name: r.name }));
      if (draft.id === r.id) setDraft(EMPTY);
      await props.onChanged();
    } catch (err) {
      setNote(failed(err));
    }
  };

  return (
    <>
      <NoteLine note={note} testid="round-note" />
      {props.items.length === 0 ? (
        <p class="muted">{t('pd.noRounds')}</p>
      ) : (
        <ul class="pd-cards" data-testid="round-list">
          {props.items.map((r) => (
            <li key={r.id} class={`pd-card round${r.enabled ? '' : ' off'}`} data-round={r.id} data-name={r.name}>
              <div class="pd-body">
                <p class="pd-name">
                  <b>{r.name}</b> <span class={`pill${r.enabled ? ' ok' : ''}`} data-testid="round-enabled">{r.enabled ? t('pd.enabled') : t('pd.disabled')}</span>
                </p>
                <p data-testid="round-starts">
                  {t('pd.starts')}: {r.starts.join('、')} · <span class="muted">{t('pd.windowValue', { n: r.windowMinutes })}</span>
                </p>
                <ol class="pd-points">
                  {r.points.map((p) => (
                    <li key={p.checkpoint} data-checkpoint={p.checkpoint}>
                      {p.name}
                      {p.dueMinutes !== undefined && <span class="muted"> · {t('pd.dueValue', { n: p.dueMinutes })}</span>}
                    </li>
                  ))}
                </ol>
                <div class="row-actions">
                  {confirm === r.id ? (
                    <>
                      <button type="button" class="btn danger" onClick={() => void remove(r)}>
                        {t('pd.confirmDelete')}
                      </button>
                      <button type="button" class="btn" onClick={() => setConfirm(null)}>
                        {t('pd.cancel')}
                      </button>
                    </>
                  ) : (
                    <>
                      <button type="button" class="btn" onClick={() => (setDraft(draftOf(r)), setFormNote(null), setBad(new Set()))}>
                        {t('pd.edit')}
                      </button>
                      <button type="button" class="btn" onClick={() => setConfirm(r.id)}>
                        {t('pd.delete')}
                      </button>
                    </>
                  )}
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
      <RoundForm draft={draft} setDraft={setDraft} tz={props.tz} checkpoints={props.checkpoints} nameOf={nameOf} bad={bad} note={formNote} busy={busy} onSave={() => void save()} onCancel={() => (setDraft(EMPTY), setFormNote(null), setBad(new Set()))} />
    </>
  );
}

function RoundForm(props: { draft: Draft; setDraft: (d: Draft) => void; tz: string; checkpoints: PatrolCheckpointView[]; nameOf: (id: string) => string; bad: Set<string>; note: Note | null; busy: boolean; onSave: () => void; onCancel: () => void }) {
  const d = props.draft;
  const set = (patch: Partial<Draft>) => props.setDraft({ ...d, ...patch });
  const [pick, setPick] = useState('');
  const left = props.checkpoints.filter((c) => !d.points.some((p) => p.checkpoint === c.id));
  const move = (i: number, by: number) => {
    const points = [...d.points];
    const [p] = points.splice(i, 1);
    points.splice(i + by, 0, p!);
    set({ points });
  };
  const invalid = (field: string) => (props.bad.has(field) ? { 'aria-invalid': 'true' as const } : {});
  return (
    <form
      class="desk-form pd-round-form"
      data-testid="round-form"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave();
      }}
    >
      <h3>{d.id ? t('pd.editRound', { name: d.name }) : t('pd.addRound')}</h3>
      <label class="field">
        {t('pd.name')}
        <input name="name" required maxLength={100} autoComplete="off" value={d.name} onInput={(e) => set({ name: e.currentTarget.value })} {...invalid('name')} />
      </label>
      <label class="field">
        {t('pd.starts')}
        <input name="starts" required autoComplete="off" placeholder="08:00, 20:00" value={d.starts} onInput={(e) => set({ starts: e.currentTarget.value })} {...invalid('starts')} />
      </label>
      <label class="field narrow">
        {t('pd.window')}
        <input name="windowMinutes" type="number" min={1} max={1440} value={d.windowMinutes} onInput={(e) => set({ windowMinutes: e.currentTarget.value })} {...invalid('windowMinutes')} />
      </label>
      <label class="field check">
        <input name="enabled" type="checkbox" checked={d.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} />
        {t('pd.enabled')}
      </label>
      <p class="muted">{t('pd.startsHint', { tz: props.tz })}</p>
      <fieldset class="pd-pick" {...invalid('points')}>
        <legend>{t('pd.points')}</legend>
        {d.points.length === 0 && <p class="muted">{t('pd.noPoints')}</p>}
        <ol class="pd-points edit" data-testid="round-points">
          {d.points.map((p, i) => (
            <li key={p.checkpoint} data-checkpoint={p.checkpoint}>
              <span class="pd-point-name">{props.nameOf(p.checkpoint)}</span>
              <label class="field narrow">
                {t('pd.due')}
                <input name={`due-${i}`} type="number" min={0} max={1440} value={p.due} onInput={(e) => set({ points: d.points.map((x, j) => (j === i ? { ...x, due: e.currentTarget.value } : x)) })} />
              </label>
              <span class="row-actions">
                <button type="button" class="btn small" disabled={i === 0} aria-label={t('pd.up', { name: props.nameOf(p.checkpoint) })} onClick={() => move(i, -1)}>
                  ↑
                </button>
                <button type="button" class="btn small" disabled={i === d.points.length - 1} aria-label={t('pd.down', { name: props.nameOf(p.checkpoint) })} onClick={() => move(i, 1)}>
                  ↓
                </button>
                <button type="button" class="btn small" aria-label={t('pd.remove', { name: props.nameOf(p.checkpoint) })} onClick={() => set({ points: d.points.filter((_, j) => j !== i) })}>
                  ✕
                </button>
              </span>
            </li>
          ))}
        </ol>
        <div class="pd-add-point">
          <label class="field">
            {t('pd.pickPoint')}
            <select name="pick" value={pick} onChange={(e) => setPick(e.currentTarget.value)}>
              <option value="">{t('pd.pickPoint')}</option>
              {left.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" class="btn" disabled={!pick || !left.some((c) => c.id === pick)} onClick={() => (set({ points: [...d.points, { checkpoint: pick, due: '' }] }), setPick(''))}>
            {t('pd.addPoint')}
          </button>
        </div>
      </fieldset>
      <div class="row-actions">
        <button type="submit" class="btn primary" disabled={props.busy}>
          {t('pd.saveRound')}
        </button>
        {d.id && (
          <button type="button" class="btn" onClick={props.onCancel}>
            {t('pd.cancel')}
          </button>
        )}
      </div>
      <NoteLine note={props.note} testid="round-error" />
    </form>
  );
}
