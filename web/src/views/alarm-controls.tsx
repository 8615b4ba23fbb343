import { useEffect, useState } from 'preact/hooks';
import { alarmMuted, audioLocked, ringing, setAlarmMuted, unlockAudio } from '../alarm.js';
import { describeError } from '../api.js';
import { t } from '../i18n/index.js';
import { disablePush, enablePush, pushState, refreshPushState } from '../push.js';

/** The command center's alarm controls: unlock audio (autoplay policy) and a remembered mute. */
export function AlarmControls() {
  const muted = alarmMuted.value;
  const locked = audioLocked.value;
  const ring = ringing.value.size > 0 && !muted;
  return (
    <span class="alarm-controls">
      {locked && !muted && (
        <button type="button" class={`btn alarm-unlock${ring ? ' ringing' : ''}`} title={t('alarm.unlockHint')} onClick={() => void unlockAudio()} data-testid="alarm-unlock">
          {t('alarm.unlock')}
        </button>
      )}
      {ring && !locked && (
        <span class="pill alarm-ringing" role="alert">
          {t('alarm.ringing')}
        </span>
      )}
      <button type="button" class="btn ghost" aria-pressed={muted} onClick={() => setAlarmMuted(!muted)} data-testid="alarm-mute" data-ringing={ring && !locked ? 'yes' : 'no'}>
        {muted ? t('alarm.muted') : t('alarm.on')}
      </button>
    </span>
  );
}

/** The phone's "开启通知" control: Web Push for this phone (the PWA). */
export function PushToggle() {
  const state = pushState.value;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => void refreshPushState().catch(() => undefined), []);
  const run = (fn: () => Promise<unknown>) => async () => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(t('push.failed', { reason: describeError(err) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="push-toggle" aria-labelledby="h-push" data-testid="push" data-state={state}>
      <h2 id="h-push">{t('push.title')}</h2>
      <p class="muted">{state === 'on' ? t('push.on') : state === 'denied' ? t('push.denied') : state === 'unsupported' ? t('push.unsupported') : t('push.off')}</p>
      {state === 'off' && (
        <button type="button" class="btn" disabled={busy} onClick={run(enablePush)} data-testid="push-enable">
          {t('push.enable')}
        </button>
      )}
      {state === 'on' && (
        <button type="button" class="btn ghost" disabled={busy} onClick={run(disablePush)} data-testid="push-disable">
          {t('push.disable')}
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
