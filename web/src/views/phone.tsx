import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { addSnapshot, isOpen, loadUnresolved, newestFirst, upsert, type SnapshotLink } from '../alerts.js';
import { api, describeError } from '../api.js';
import { Age, AlertStatus, ErrorNote, SeverityBadge, Snapshot, TopBar } from '../components.js';
import { useNow } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { useLive, useSync } from '../live.js';
import { useLoad } from '../load.js';
import { actorName, toHandover, type Person } from '../people.js';
import { session } from '../session.js';
import type { Alert, CommandResultPush, EstateRef, EstateStateView } from '../types.js';

/** The volunteer's phone (360×740, touch): my open alerts, ack/resolve, open a door, hand-over. */
export function PhoneView() {
  const user = session.value!.user;
  const now = useNow(5_000);
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  const estates = me.data?.estates ?? [];
  const [picked, setPicked] = useState<string | null>(null);
  const estate = picked ?? estates[0]?.id ?? null;
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [alertsError, setAlertsError] = useState<string | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const handover = useLoad(estate ? `/api/v1/roster/handover?estate=${estate}` : null, toHandover);
  const devices = useLoad<EstateStateView>(estate ? `/api/v1/state/estates/${estate}` : null);

  const scopes = [`user:${user.id}`, ...estates.map((e) => `estate:${e.id}`)];
  useSync(scopes, async () => {
    await Promise.all([
      me.reload(),
      loadUnresolved()
        .then((list) => {
          setAlerts(list);
          setAlertsError(null);
        })
        .catch((err) => setAlertsError(describeError(err))),
    ]);
  });
  useEffect(() => {
    void handover.reload();
    void devices.reload();
  }, [estate]);

  const onAlert = (a: Alert) => setAlerts((list) => upsert(list, a));
  useLive<Alert>('alert:new', onAlert);
  useLive<Alert>('alert:update', onAlert);
  useLive<SnapshotLink>('snapshot', (l) => setAlerts((list) => addSnapshot(list, l)));
  useLive<{ alert: Alert; level: number; reason: string }>('alert:notify', (n) => {
    onAlert(n.alert);
    setFlash(n.alert.id);
    navigator.vibrate?.(200);
  });

  const open = useMemo(() => alerts.filter(isOpen).sort(newestFirst), [alerts]);
  const people = [...(handover.data?.now ?? []), ...(handover.data?.next ?? [])];
  const names = (actor?: string, name?: string) => actorName(actor, people, session.value?.user, name);

  return (
    <div class="phone">
      <TopBar title={t('me.title')} />
      <main class="phone-main">
        <ErrorNote what={t('me.estate')} error={me.error} onRetry={() => void me.reload()} />
        {me.data && estates.length === 0 && <p class="muted">{t('me.noEstates')}</p>}
        {estates.length > 1 && (
          <label class="field">
            {t('me.estate')}
            <select value={estate ?? ''} onChange={(e) => setPicked(e.currentTarget.value)}>
              {estates.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name ?? e.id}
                </option>
              ))}
            </select>
          </label>
        )}
        <section aria-labelledby="h-mine">
          <h2 id="h-mine">
            {t('alerts.title')} <span class="count">{open.length}</span>
          </h2>
          <ErrorNote what={t('alerts.title')} error={alertsError} />
          {open.length === 0 && !alertsError && <p class="muted">{t('alerts.none')}</p>}
          <ul class="cards">
            {open.map((a) => (
              <AlertCard key={a.id} alert={a} now={now} names={names} flash={flash === a.id} onChange={onAlert} />
            ))}
          </ul>
        </section>
        {estate && (
          <section aria-labelledby="h-cmd">
            <h2 id="h-cmd">{t('cmd.title')}</h2>
            <ErrorNote what={t('cmd.title')} error={devices.error} onRetry={() => void devices.reload()} />
            {devices.data && <Commands estate={estate} state={devices.data} />}
          </section>
        )}
        {estate && (
          <section aria-labelledby="h-handover">
            <h2 id="h-handover">{t('handover.title')}</h2>
            <ErrorNote what={t('handover.title')} error={handover.error} onRetry={() => void handover.reload()} />
            {handover.data && <HandoverList now={handover.data.now} next={handover.data.next} alerts={handover.data.alerts} clock={now} />}
          </section>
        )}
      </main>
    </div>
  );
}

function AlertCard(props: { alert: Alert; now: number; names: (a?: string, name?: string) => string; flash: boolean; onChange: (a: Alert) => void }) {
  const a = props.alert;
  const [resolving, setResolving] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const snap = a.snapshots?.[a.snapshots.length - 1];

  async function act(kind: 'ack' | 'resolve') {
    if (kind === 'resolve' && !note.trim()) {
      setError(t('alert.noteRequired'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const updated = await api<Alert | undefined>(`/api/v1/alerts/${a.id}/${kind}`, { method: 'POST', body: kind === 'resolve' ? { note: note.trim() } : {} });
      if (updated && typeof updated === 'object' && updated.id === a.id) props.onChange(updated);
      if (kind === 'resolve') setResolving(false);
    } catch (err) {
      setError(t('alert.failed', { detail: describeError(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class={`card sev-row-${a.severity} ${props.flash ? 'flash' : ''}`} data-alert-id={a.id} data-state={a.state}>
      <p class="alert-head">
        <SeverityBadge severity={a.severity} /> <b>{tOr('rule', a.rule)}</b>
      </p>
      <p class="alert-meta">
        {a.deviceName ?? a.device} · <Age at={a.openedAt} now={props.now} />
        {(a.count ?? 1) > 1 && <> · {t('alert.count', { n: a.count ?? 1 })}</>}
      </p>
      <p class="alert-meta">
        <AlertStatus alert={a} names={props.names} />
      </p>
      <Snapshot snap={snap} class="photo" hideEmpty />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {resolving ? (
        <div class="resolve">
          <label>
            {t('alert.note')}
            <textarea rows={3} value={note} placeholder={t('alert.notePlaceholder')} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <div class="actions">
            <button type="button" class="btn primary" disabled={busy} onClick={() => void act('resolve')}>
              {t('alert.confirmResolve')}
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => setResolving(false)}>
              {t('alert.cancel')}
            </button>
          </div>
        </div>
      ) : (
        <div class="actions">
          {a.state !== 'acknowledged' && (
            <button type="button" class="btn primary" disabled={busy} onClick={() => void act('ack')}>
              {t('alert.ack')}
            </button>
          )}
          <button type="button" class="btn" disabled={busy} onClick={() => setResolving(true)}>
            {t('alert.resolve')}
          </button>
        </div>
      )}
    </li>
  );
}

interface Target {
  device: string;
  name: 'door.open' | 'barrier.open';
  args: Record<string, number>;
  label: string;
}

type CommandPhase =
  | { phase: 'confirm'; target: Target }
  | { phase: 'sending'; target: Target; id?: string }
  | { phase: 'done'; target: Target; ok: boolean; text: string };

const RESULT_WAIT_S = 20;

/** Open a door or raise a barrier: pick, confirm, send, show the device's answer. */
function Commands(props: { estate: string; state: EstateStateView }) {
  const targets: Target[] = [
    ...props.state.doors.map((d) => ({ device: d.device, name: 'door.open' as const, args: { door: d.door }, label: t('cmd.door.open', { device: d.device, target: t('door.n', { n: d.door }) }) })),
    ...props.state.barriers.map((b) => ({ device: b.device, name: 'barrier.open' as const, args: { lane: b.lane }, label: t('cmd.barrier.open', { device: b.device, target: t('lane.n', { n: b.lane }) }) })),
  ];
  const [cmd, setCmd] = useState<CommandPhase | null>(null);
  const pending = useRef<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  const finish = (target: Target, r: CommandResultPush['result'] | undefined) => {
    clearTimeout(timer.current);
    pending.current = null;
    const ok = r?.status === 'ok';
    setCmd({ phase: 'done', target, ok, text: ok ? t('cmd.ok', { action: target.label }) : t('cmd.failed', { action: target.label, code: r?.code ?? r?.message ?? '?' }) });
  };
  useLive<CommandResultPush>('command:result', (r) => {
    if (cmd && cmd.phase === 'sending' && r.id === pending.current) finish(cmd.target, r.result);
  });

  async function send(target: Target) {
    setCmd({ phase: 'sending', target });
    try {
      const res = await api<{ id: string; result?: CommandResultPush['result'] }>('/api/v1/commands', { method: 'POST', body: { estate: props.estate, device: target.device, name: target.name, args: target.args } });
      if (res.result) return finish(target, res.result);
      pending.current = res.id;
      setCmd({ phase: 'sending', target, id: res.id });
      timer.current = setTimeout(() => {
        pending.current = null;
        setCmd({ phase: 'done', target, ok: false, text: t('cmd.timeout', { action: target.label, s: RESULT_WAIT_S }) });
      }, RESULT_WAIT_S * 1000);
    } catch (err) {
      setCmd({ phase: 'done', target, ok: false, text: t('alert.failed', { detail: describeError(err) }) });
    }
  }

  if (targets.length === 0) return <p class="muted">{t('cmd.none')}</p>;
  return (
    <div class="commands">
      {cmd?.phase === 'confirm' ? (
        <div class="confirm" role="alertdialog" aria-labelledby="cmd-q">
          <p id="cmd-q">{t('cmd.confirm', { action: cmd.target.label })}</p>
          <div class="actions">
            <button type="button" class="btn danger" onClick={() => void send(cmd.target)} autoFocus>
              {t('cmd.yes')}
            </button>
            <button type="button" class="btn" onClick={() => setCmd(null)}>
              {t('alert.cancel')}
            </button>
          </div>
        </div>
      ) : (
        <div class="cmd-buttons">
          {targets.map((x) => (
            <button key={`${x.device}/${x.name}/${JSON.stringify(x.args)}`} type="button" class="btn" disabled={cmd?.phase === 'sending'} onClick={() => setCmd({ phase: 'confirm', target: x })}>
              {x.label}
            </button>
          ))}
        </div>
      )}
      {cmd?.phase === 'sending' && (
        <p class="cmd-status" role="status">
          {t('cmd.sending')}
        </p>
      )}
      {cmd?.phase === 'done' && (
        <p class={`cmd-status ${cmd.ok ? 'ok' : 'error'}`} role="status" data-testid="cmd-result">
          {cmd.text}
        </p>
      )}
    </div>
  );
}

function HandoverList(props: { now: Person[]; next: Person[]; alerts: Alert[]; clock: number }) {
  const names = (list: Person[]) => (list.length ? list.map((p) => p.name).join('、') : t('none'));
  return (
    <div class="handover">
      <p>
        <b>{t('handover.now')}</b>: {names(props.now)}
      </p>
      <p>
        <b>{t('handover.next')}</b>: {names(props.next)}
      </p>
      <p>
        <b>{t('handover.open')}</b>
      </p>
      {props.alerts.length === 0 ? (
        <p class="muted">{t('alerts.none')}</p>
      ) : (
        <ol class="handover-alerts">
          {props.alerts.map((a) => (
            <li key={a.id}>
              <SeverityBadge severity={a.severity} /> {tOr('rule', a.rule)} · {a.deviceName ?? a.device} · <Age at={a.openedAt} now={props.clock} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
