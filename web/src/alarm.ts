import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { Alert } from './types.js';

/**
 * The open page's alarm (issue 17, item 7): the command center sounds a generated two-tone siren
 * (Web Audio; no sound file) for NEW alerts of severity ≥ 3 while any of them is still unacknowledged,
 * until muted; the mute is remembered. Browsers start audio only after a user gesture (autoplay
 * policy): until one came, `audioLocked` is true and the screen shows a button that unlocks it.
 */

const MUTE_KEY = 'rb.alarm.muted';
/** Severity from which a new alert rings. */
export const ALARM_SEVERITY = 3;
/** One burst of the siren every this many ms while ringing. */
const BURST_EVERY_MS = 2_500;
/** It stops by itself after this long (a wall screen nobody attends must not ring all night). */
const MAX_RING_MS = 5 * 60_000;

export const alarmMuted = signal<boolean>(localStorage.getItem(MUTE_KEY) === '1');
/** Audio has not been allowed yet: a gesture (the unlock button, any click) is needed. */
export const audioLocked = signal<boolean>(true);
/** Alerts ringing now (ids). */
export const ringing = signal<ReadonlySet<string>>(new Set());

let ctx: AudioContext | undefined;
let timer: ReturnType<typeof setInterval> | undefined;
let startedAt = 0;
const voices = new Set<OscillatorNode>();

function context(): AudioContext | undefined {
  if (!ctx && typeof AudioContext !== 'undefined') {
    ctx = new AudioContext();
    ctx.addEventListener('statechange', () => {
      audioLocked.value = ctx?.state !== 'running';
      if (!audioLocked.value) sync();
    });
  }
  audioLocked.value = ctx?.state !== 'running';
  return ctx;
}

/** Call from a user gesture: resumes audio (the autoplay policy lets it start only then). */
export async function unlockAudio(): Promise<void> {
  const c = context();
  if (!c) return;
  await c.resume().catch(() => undefined);
  audioLocked.value = c.state !== 'running';
  sync();
}

/** 880/660 Hz, four times, 1.6 s: loud enough for a guard room, generated on the spot. */
function burst(c: AudioContext): void {
  const t0 = c.currentTime + 0.02;
  const osc = c.createOscillator();
  const gain = c.createGain();
  osc.type = 'square';
  for (let i = 0; i < 8; i++) osc.frequency.setValueAtTime(i % 2 ? 660 : 880, t0 + i * 0.2);
  gain.gain.setValueAtTime(0.0001, t0);
  gain.gain.exponentialRampToValueAtTime(0.25, t0 + 0.03);
  gain.gain.setValueAtTime(0.25, t0 + 1.55);
  gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 1.6);
  osc.connect(gain).connect(c.destination);
  voices.add(osc);
  osc.addEventListener('ended', () => voices.delete(osc));
  osc.start(t0);
  osc.stop(t0 + 1.62);
}

function silence(): void {
  clearInterval(timer);
  timer = undefined;
  for (const v of voices) {
    try {
      v.stop();
    } catch {
      /* already stopped */
    }
  }
  voices.clear();
}

/** Ring or not, from the state: something ringing, not muted, audio allowed, not rung too long. */
function sync(): void {
  const want = ringing.value.size > 0 && !alarmMuted.value;
  if (!want) return silence();
  const c = context();
  if (!c || c.state !== 'running' || timer) return;
  if (Date.now() - startedAt > MAX_RING_MS) return;
  burst(c);
  timer = setInterval(() => {
    if (Date.now() - startedAt > MAX_RING_MS || c.state !== 'running') return silence();
    burst(c);
  }, BURST_EVERY_MS);
}

export function setAlarmMuted(muted: boolean): void {
  alarmMuted.value = muted;
  localStorage.setItem(MUTE_KEY, muted ? '1' : '0');
  sync();
}

const waiting = (a: Pick<Alert, 'state'>): boolean => a.state === 'open' || a.state === 'escalated';

/** A new alert arrived live (`alert:new`): rings when it is severe and nobody has acknowledged it. */
export function alarmOnNew(a: Pick<Alert, 'id' | 'severity' | 'state'>): void {
  if (a.severity < ALARM_SEVERITY || !waiting(a) || ringing.value.has(a.id)) return;
  if (ringing.value.size === 0) startedAt = Date.now();
  ringing.value = new Set([...ringing.value, a.id]);
  sync();
}

/** An alert changed (`alert:update`): acknowledged or resolved ones stop ringing. */
export function alarmOnUpdate(a: Pick<Alert, 'id' | 'state'>): void {
  if (!ringing.value.has(a.id) || waiting(a)) return;
  const next = new Set(ringing.value);
  next.delete(a.id);
  ringing.value = next;
  sync();
}

/** For the screen that rings: creates the audio context at once and unlocks it on the first gesture anywhere. */
export function useAlarm(): void {
  useEffect(() => {
    context();
    const onGesture = () => void unlockAudio();
    addEventListener('pointerdown', onGesture, { capture: true });
    addEventListener('keydown', onGesture, { capture: true });
    return () => {
      removeEventListener('pointerdown', onGesture, { capture: true });
      removeEventListener('keydown', onGesture, { capture: true });
      ringing.value = new Set();
      silence();
    };
  }, []);
}

/**
 * Keep the screen on while this page is shown (Screen Wake Lock API). The browser drops the lock when
 * the page is hidden; it is asked for again when the page is visible again.
 */
export function useWakeLock(): void {
  useEffect(() => {
    const wl = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<{ release(): Promise<void>; released: boolean }> } }).wakeLock;
    if (!wl) return;
    let lock: { release(): Promise<void>; released: boolean } | undefined;
    let gone = false;
    const acquire = () => {
      if (document.visibilityState !== 'visible' || (lock && !lock.released)) return;
      wl.request('screen').then(
        (l) => {
          if (gone) void l.release();
          else lock = l;
        },
        () => undefined, // refused (battery saver, not visible): asked again on the next visibility change
      );
    };
    acquire();
    document.addEventListener('visibilitychange', acquire);
    return () => {
      gone = true;
      document.removeEventListener('visibilitychange', acquire);
      void lock?.release().catch(() => undefined);
    };
  }, []);
}

/** The phone: a long buzz pattern for a new severe alert (where the device can vibrate). */
export function vibrateFor(a: Pick<Alert, 'severity' | 'state'>): void {
  if (a.severity >= ALARM_SEVERITY && waiting(a)) navigator.vibrate?.([400, 150, 400, 150, 400]);
}
