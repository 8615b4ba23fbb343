import { useEffect, useRef, useState } from 'preact/hooks';
import { RESULT_WAIT_MS, runCommand, type Outcome } from '../commands.js';
import { t } from '../i18n/index.js';
import { commandFailure } from '../labels.js';
import type { EstateStateView } from '../types.js';

interface Target {
  device: string;
  name: 'door.open' | 'barrier.open';
  args: Record<string, number>;
}

type Phase = { phase: 'confirm'; target: Target } | { phase: 'sending'; target: Target } | { phase: 'done'; target: Target; outcome: Outcome };

/**
 * Open a door or raise a barrier: pick (buttons name the device, 开门 · 北门), confirm, send, and show
 * what came back in words — the outcome is kept as data and worded at render time, so the language
 * switch translates it, with the device's own reason beneath.
 */
export function PhoneCommands(props: { estate: string; state: EstateStateView }) {
  const { state } = props;
  const nameOf = (id: string) => state.devices.find((d) => d.device === id)?.name ?? id;
  const doorsOf = (id: string) => state.doors.filter((d) => d.device === id).length;
  const lanesOf = (id: string) => state.barriers.filter((b) => b.device === id).length;
  // Doors and lanes the live state has seen, and door 1 / lane 1 of a gate or barrier that has not
  // reported one yet (a quiet door is still a door that can be opened).
  const targets: Target[] = [
    ...state.doors.map((d) => ({ device: d.device, name: 'door.open' as const, args: { door: d.door } })),
    ...state.devices.filter((d) => d.kind === 'access-gate' && doorsOf(d.device) === 0).map((d) => ({ device: d.device, name: 'door.open' as const, args: { door: 1 } })),
    ...state.barriers.map((b) => ({ device: b.device, name: 'barrier.open' as const, args: { lane: b.lane } })),
    ...state.devices.filter((d) => d.kind === 'barrier-gate' && lanesOf(d.device) === 0).map((d) => ({ device: d.device, name: 'barrier.open' as const, args: { lane: 1 } })),
  ].sort((a, b) => nameOf(a.device).localeCompare(nameOf(b.device)) || JSON.stringify(a.args).localeCompare(JSON.stringify(b.args)));
  const label = (x: Target): string => {
    const device = nameOf(x.device);
    if (x.name === 'door.open') return doorsOf(x.device) > 1 ? t('cmd.door.open', { device, target: t('door.n', { n: x.args.door ?? 1 }) }) : t('cmd.door.openOne', { device });
    return lanesOf(x.device) > 1 ? t('cmd.barrier.open', { device, target: t('lane.n', { n: x.args.lane ?? 1 }) }) : t('cmd.barrier.openOne', { device });
  };
  const [cmd, setCmd] = useState<Phase | null>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  async function send(target: Target) {
    setCmd({ phase: 'sending', target });
    const outcome = await runCommand({ estate: props.estate, device: target.device, name: target.name, args: target.args });
    if (alive.current) setCmd({ phase: 'done', target, outcome });
  }

  if (targets.length === 0) return <p class="muted">{t('cmd.none')}</p>;
  const failure = cmd?.phase === 'done' && !cmd.outcome.ok ? commandFailure(cmd.outcome, RESULT_WAIT_MS / 1000) : null;
  return (
    <div class="commands">
      {cmd?.phase === 'confirm' ? (
        <div class="confirm" role="alertdialog" aria-labelledby="cmd-q">
          <p id="cmd-q">{t('cmd.confirm', { action: label(cmd.target) })}</p>
          <div class="actions">
            <button type="button" class="btn danger" onClick={() => void send(cmd.target)} autoFocus data-testid="cmd-yes">
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
            <button
              key={`${x.device}/${x.name}/${JSON.stringify(x.args)}`}
              type="button"
              class="btn"
              disabled={cmd?.phase === 'sending'}
              onClick={() => setCmd({ phase: 'confirm', target: x })}
              data-device={x.device}
              data-command={x.name}
            >
              {label(x)}
            </button>
          ))}
        </div>
      )}
      {cmd?.phase === 'sending' && (
        <p class="cmd-status" role="status" data-testid="cmd-sending">
          {t('cmd.sending')}
        </p>
      )}
      {cmd?.phase === 'done' && (
        <div class={`cmd-status ${cmd.outcome.ok ? 'ok' : 'error'}`} role="status" data-testid="cmd-result" data-ok={String(cmd.outcome.ok)} data-code={cmd.outcome.code ?? ''}>
          <p>{cmd.outcome.ok ? t('cmd.ok', { action: label(cmd.target) }) : t('cmd.failedAction', { action: label(cmd.target) })}</p>
          {failure && <p class="why">{failure.why}</p>}
          {failure?.detail && (
            <p class="detail muted" data-testid="cmd-detail">
              {t('cmd.detail', { text: failure.detail })}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
