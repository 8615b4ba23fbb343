import { useEffect, useRef, useState } from 'preact/hooks';
import type { VideoPreset } from '../../../protocol/video.js';
import { runCommand } from '../commands.js';
import { t } from '../i18n/index.js';
import { commandFailure } from '../labels.js';

/** How long the outcome of a tap stays on screen (ms). */
const SHOWN_MS = 5_000;
/** How long a tap waits for the camera's answer, as the move buttons do (PtzControls). */
const WAIT_MS = 10_000;

/**
 * The camera's PTZ presets (from the relay's `hello`, docs/video.md), one button each: a tap sends
 * `ptz.preset {preset: token}` through the command path every other command takes (POST
 * /api/v1/commands: expiry, audit) and says briefly whether the camera went there, or why not.
 */
export function PtzPresets(props: { estate: string; device: string; presets: readonly VideoPreset[] }) {
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const alive = useRef(true);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(
    () => () => {
      alive.current = false;
      clearTimeout(timer.current);
    },
    [],
  );
  const go = async (p: VideoPreset) => {
    setBusy(true);
    setSaid(null);
    clearTimeout(timer.current);
    const out = await runCommand({ estate: props.estate, device: props.device, name: 'ptz.preset', args: { preset: p.token } }, WAIT_MS);
    if (!alive.current) return;
    setBusy(false);
    if (out.ok) setSaid({ ok: true, text: t('video.preset.done', { name: p.name }) });
    else {
      const f = commandFailure(out, WAIT_MS / 1000);
      const why = f.detail ? t('video.withDetail', { why: f.why, detail: f.detail }) : f.why;
      setSaid({ ok: false, text: t('video.preset.failed', { name: p.name, why }) });
    }
    timer.current = setTimeout(() => alive.current && setSaid(null), SHOWN_MS);
  };
  return (
    <div class="ptz-presets" role="group" aria-label={t('video.presets')} data-testid="ptz-presets">
      <span class="muted">{t('video.presets')}</span>
      {props.presets.map((p) => (
        <button key={p.token} type="button" class="btn preset" data-preset={p.token} disabled={busy} onClick={() => void go(p)}>
          {p.name}
        </button>
      ))}
      {said && (
        <p class={said.ok ? 'ok' : 'error'} role={said.ok ? 'status' : 'alert'} data-testid="preset-result">
          {said.text}
        </p>
      )}
    </div>
  );
}
