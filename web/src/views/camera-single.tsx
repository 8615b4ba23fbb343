import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { runCommand } from '../commands.js';
import { ErrorNote } from '../components.js';
import { t } from '../i18n/index.js';
import { commandFailure } from '../labels.js';
import { cameraLabel, qualityFor, useCameras, type VideoCameraView } from '../video/cameras.js';
import { PtzPresets } from './camera-presets.js';
import { VideoTile } from './video-tile.js';

/**
 * One camera, full width, its main stream (the phone's 看直播, issue 20 item 3), with pan/tilt/zoom
 * buttons and the camera's presets when it has PTZ. `onBack` closes it.
 */
export function CameraSingle(props: { estate: string; device: string; onBack: () => void }) {
  const { cameras } = useCameras(props.estate, 60_000);
  const cam = cameras?.find((c) => c.device === props.device);
  return (
    <section class="camera-single" data-testid="camera-single" aria-label={cam ? cameraLabel(cam) : props.device}>
      <button type="button" class="btn ghost back" onClick={props.onBack} data-testid="camera-back">
        ‹ {t('video.back')}
      </button>
      <h2>{cam ? cameraLabel(cam) : props.device}</h2>
      <VideoTile estate={props.estate} device={props.device} quality={qualityFor(cam, 'main')} node={cam?.node} class="single" />
      {cam?.ptz && <PtzControls estate={props.estate} device={props.device} />}
      {cam?.ptz && cam.presets && cam.presets.length > 0 && <PtzPresets estate={props.estate} device={props.device} presets={cam.presets} />}
    </section>
  );
}

/** The estate's cameras as a list of buttons (by name; offline and unconnected ones say so). */
export function CameraList(props: { estate: string; onWatch: (device: string) => void }) {
  const { cameras, error } = useCameras(props.estate);
  return (
    <section class="camera-list" aria-labelledby="h-cameras" data-testid="camera-list">
      <h2 id="h-cameras">{t('video.camerasTitle')}</h2>
      <ErrorNote what={t('video.cameras')} error={error ? describeError(error) : null} />
      {cameras && cameras.length === 0 && <p class="muted">{t('video.noCameras')}</p>}
      <ul class="cam-buttons">
        {(cameras ?? []).map((c: VideoCameraView) => (
          <li key={c.device}>
            <button type="button" class={`btn cam${c.relay && c.online !== false ? '' : ' off'}`} data-device={c.device} onClick={() => props.onWatch(c.device)}>
              ▶ {cameraLabel(c)}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The cameras linked to an alert's device (its gateway's config), to watch live from the alert's detail. */
export function LinkedCameras(props: { cameras: readonly string[]; names?: ReadonlyMap<string, string>; onWatch: (device: string) => void }) {
  if (props.cameras.length === 0) return null;
  return (
    <section class="ad-cameras" aria-labelledby="h-ad-cameras" data-testid="alert-cameras">
      <h3 id="h-ad-cameras">{t('video.cameras')}</h3>
      <ul class="cam-buttons">
        {props.cameras.map((c) => (
          <li key={c}>
            <button type="button" class="btn cam" data-device={c} onClick={() => props.onWatch(c)}>
              ▶ {t('video.watch')} · {props.names?.get(c) ?? c}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

type Move = { pan?: number; tilt?: number; zoom?: number };
const MOVES: Array<{ key: 'up' | 'down' | 'left' | 'right' | 'zoomIn' | 'zoomOut'; glyph: string; move: Move }> = [
  { key: 'up', glyph: '▲', move: { tilt: 0.5 } },
  { key: 'left', glyph: '◀', move: { pan: -0.5 } },
  { key: 'right', glyph: '▶', move: { pan: 0.5 } },
  { key: 'down', glyph: '▼', move: { tilt: -0.5 } },
  { key: 'zoomIn', glyph: '＋', move: { zoom: 0.5 } },
  { key: 'zoomOut', glyph: '－', move: { zoom: -0.5 } },
];
/** How long one tap moves the camera (ms); the camera itself stops after it too (`timeoutMs`). */
const STEP_MS = 500;

/**
 * Pan, tilt and zoom by taps: each tap sends `ptz.move` for a short step and then `ptz.stop`, through
 * the command path every other command takes (POST /api/v1/commands: expiry, audit).
 */
export function PtzControls(props: { estate: string; device: string }) {
  const [busy, setBusy] = useState(false);
  const [why, setWhy] = useState<string | null>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );
  const step = async (move: Move) => {
    setBusy(true);
    setWhy(null);
    const base = { estate: props.estate, device: props.device };
    const moved = await runCommand({ ...base, name: 'ptz.move', args: { ...move, timeoutMs: STEP_MS * 2 } }, 10_000);
    if (moved.ok) await new Promise((r) => setTimeout(r, STEP_MS));
    const stopped = await runCommand({ ...base, name: 'ptz.stop', args: {} }, 10_000);
    if (!alive.current) return;
    setBusy(false);
    const failed = !moved.ok ? moved : !stopped.ok ? stopped : null;
    if (failed) setWhy(t('video.ptz.failed', { why: commandFailure(failed, 10).why }));
  };
  return (
    <div class="ptz" role="group" aria-label={t('video.ptz')} data-testid="ptz">
      {MOVES.map((m) => (
        <button key={m.key} type="button" class={`btn ptz-${m.key}`} disabled={busy} aria-label={t(`video.ptz.${m.key}`)} title={t(`video.ptz.${m.key}`)} onClick={() => void step(m.move)}>
          {m.glyph}
        </button>
      ))}
      {why && (
        <p class="error" role="alert">
          {why}
        </p>
      )}
    </div>
  );
}
