import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import { ErrorNote, EstateSelect } from '../components.js';
import { t, tOr } from '../i18n/index.js';
import type { EstateRef } from '../types.js';
import { done, failed, NoteLine, type Note } from './note.js';

/**
 * The alert settings of one estate (GET/PUT /api/v1/estates/:estate/alert-settings; the schema is
 * hub/alerts/settings.ts, every key defaulted). The form walks what the hub sends rather than a copy of
 * the schema: a switch and a severity per rule, the rule's own numbers, auto-resolve where the rule
 * has it, night and quiet hours, the clearing hold-off and escalation.
 */
type Json = Record<string, unknown>;

/** Alarms are signed off by a person (hub/alerts/settings.ts ALARM_RULES): their auto-resolve is fixed off. */
const ALARMS = new Set(['door.forced', 'device.tamper', 'plate.blocklisted', 'camera.signalLoss']);
const SEVERITIES = [1, 2, 3, 4];

const clone = <T,>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

function set(draft: Json, path: string[], value: unknown): Json {
  const next = clone(draft);
  let o = next;
  for (const k of path.slice(0, -1)) o = (o[k] = obj(o[k]));
  o[path[path.length - 1]!] = value;
  return next;
}

export function AlertSettingsForm(props: { estates: EstateRef[] }) {
  const [estate, setEstate] = useState(props.estates[0]!.id);
  const [draft, setDraft] = useState<Json | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<Note | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () =>
    api<Json>(`/api/v1/estates/${estate}/alert-settings`).then(
      (s) => (setDraft(s), setError(null)),
      (err) => setError(err),
    );
  useEffect(() => {
    setDraft(null);
    setNote(null);
    void load();
  }, [estate]);

  const edit = (path: string[], value: unknown) => {
    setNote(null);
    setDraft((d) => (d ? set(d, path, value) : d));
  };
  const save = async () => {
    if (!draft) return;
    setBusy(true);
    setNote(null);
    try {
      setDraft(await api<Json>(`/api/v1/estates/${estate}/alert-settings`, { method: 'PUT', body: draft }));
      setNote(done('settings.saved'));
    } catch (err) {
      setNote(failed(err));
    } finally {
      setBusy(false);
    }
  };

  const rules = obj(draft?.rules);
  const auto = obj(draft?.autoResolve);
  const night = obj(draft?.nightHours);
  const quiet = obj(draft?.quietHours);
  const esc = obj(draft?.escalation);
  const ack = Array.isArray(esc.ackMinutes) ? (esc.ackMinutes as number[]) : [];
  return (
    <form
      class="settings"
      data-testid="alert-settings"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <EstateSelect estates={props.estates} value={estate} onChange={(v) => v && setEstate(v)} name="settings-estate" />
      <ErrorNote what={t('admin.settings')} error={error === null ? null : describeError(error)} onRetry={() => void load()} />
      {draft && (
        <>
          <table class="rules">
            <thead>
              <tr>
                <th>{t('settings.rule')}</th>
                <th>{t('settings.enabled')}</th>
                <th>{t('settings.severity')}</th>
                <th>{t('settings.params')}</th>
                <th>{t('settings.autoResolve')}</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(rules).map(([rule, raw]) => {
                const r = obj(raw);
                return (
                  <tr key={rule} data-rule={rule}>
                    <td>
                      <b>{tOr('rule', rule)}</b>
                      <div class="muted small">{rule}</div>
                    </td>
                    <td>
                      <input type="checkbox" name={`${rule}.enabled`} aria-label={t('settings.enabledOf', { rule: tOr('rule', rule) })} checked={r.enabled !== false} onChange={(e) => edit(['rules', rule, 'enabled'], e.currentTarget.checked)} />
                    </td>
                    <td>
                      <SeveritySelect name={`${rule}.severity`} value={Number(r.severity)} onChange={(v) => edit(['rules', rule, 'severity'], v)} />
                    </td>
                    <td>
                      <div class="params">
                        {Object.entries(r)
                          .filter(([k]) => k !== 'enabled' && k !== 'severity')
                          .map(([k, v]) =>
                            k === 'nightSeverity' ? (
                              <label key={k} class="param">
                                {t('settings.f.nightSeverity')}
                                <SeveritySelect name={`${rule}.${k}`} value={Number(v)} onChange={(x) => edit(['rules', rule, k], x)} />
                              </label>
                            ) : typeof v === 'number' ? (
                              <label key={k} class="param">
                                {tOr('settings.f', k)}
                                <input type="number" name={`${rule}.${k}`} min={0} step={1} value={v} onInput={(e) => edit(['rules', rule, k], Number(e.currentTarget.value))} />
                              </label>
                            ) : Array.isArray(v) ? (
                              <span key={k} class="muted param">
                                {tOr('settings.f', k)}: {v.length}
                              </span>
                            ) : null,
                          )}
                      </div>
                    </td>
                    <td>
                      {rule in auto ? (
                        ALARMS.has(rule) ? (
                          <span class="muted">{t('settings.byPerson')}</span>
                        ) : (
                          <input type="checkbox" name={`${rule}.autoResolve`} aria-label={t('settings.autoResolveOf', { rule: tOr('rule', rule) })} checked={auto[rule] !== false} onChange={(e) => edit(['autoResolve', rule], e.currentTarget.checked)} />
                        )
                      ) : (
                        <span class="muted">{t('none')}</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div class="settings-grid">
            <fieldset>
              <legend>{t('settings.night')}</legend>
              <TimeField label={t('roster.from')} name="nightHours.from" value={String(night.from ?? '')} onChange={(v) => edit(['nightHours', 'from'], v)} />
              <TimeField label={t('roster.to')} name="nightHours.to" value={String(night.to ?? '')} onChange={(v) => edit(['nightHours', 'to'], v)} />
            </fieldset>
            <fieldset>
              <legend>{t('settings.quiet')}</legend>
              <TimeField label={t('roster.from')} name="quietHours.from" value={String(quiet.from ?? '')} onChange={(v) => edit(['quietHours', 'from'], v)} />
              <TimeField label={t('roster.to')} name="quietHours.to" value={String(quiet.to ?? '')} onChange={(v) => edit(['quietHours', 'to'], v)} />
              <label class="field">
                {t('settings.quietMax')}
                <select name="quietHours.maxSeverity" value={String(quiet.maxSeverity ?? 1)} onChange={(e) => edit(['quietHours', 'maxSeverity'], Number(e.currentTarget.value))}>
                  {[0, ...SEVERITIES].map((s) => (
                    <option key={s} value={String(s)}>
                      {s === 0 ? t('settings.quietNone') : tOr('sev', String(s))}
                    </option>
                  ))}
                </select>
              </label>
            </fieldset>
            <fieldset>
              <legend>{t('settings.clearing')}</legend>
              <NumberField label={t('settings.clearAfterS')} name="clearAfterS" value={Number(draft.clearAfterS ?? 30)} onChange={(v) => edit(['clearAfterS'], v)} />
            </fieldset>
            <fieldset>
              <legend>{t('settings.escalation')}</legend>
              {ack.map((m, i) => (
                <NumberField key={i} label={t('settings.ackMinutes', { n: i + 1 })} name={`escalation.ackMinutes.${i}`} value={m} onChange={(v) => edit(['escalation', 'ackMinutes'], ack.map((x, j) => (j === i ? v : x)))} />
              ))}
              <NumberField label={t('settings.renotify')} name="escalation.renotifyMinutes" value={Number(esc.renotifyMinutes ?? 5)} onChange={(v) => edit(['escalation', 'renotifyMinutes'], v)} />
            </fieldset>
          </div>
          <div class="actions">
            <button type="submit" class="btn primary" disabled={busy}>
              {t('settings.save')}
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => void load()}>
              {t('settings.reset')}
            </button>
          </div>
          <NoteLine note={note} testid="settings-note" />
        </>
      )}
    </form>
  );
}

function SeveritySelect(props: { name: string; value: number; onChange: (v: number) => void }) {
  return (
    <select name={props.name} value={String(props.value)} onChange={(e) => props.onChange(Number(e.currentTarget.value))}>
      {SEVERITIES.map((s) => (
        <option key={s} value={String(s)}>
          {s} · {tOr('sev', String(s))}
        </option>
      ))}
    </select>
  );
}

function TimeField(props: { label: string; name: string; value: string; onChange: (v: string) => void }) {
  return (
    <label class="field">
      {props.label}
      <input type="time" name={props.name} value={props.value} required onInput={(e) => props.onChange(e.currentTarget.value)} />
    </label>
  );
}

function NumberField(props: { label: string; name: string; value: number; onChange: (v: number) => void }) {
  return (
    <label class="field">
      {props.label}
      <input type="number" name={props.name} min={0} step={1} value={props.value} onInput={(e) => props.onChange(Number(e.currentTarget.value))} />
    </label>
  );
}
