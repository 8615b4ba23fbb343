import { useEffect, useMemo, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { ErrorNote } from '../components.js';
import { t, tOr } from '../i18n/index.js';
import { cameraLabel, camerasFor, qualityFor, useCameras } from '../video/cameras.js';
import { fillTiles, LAYOUTS, placeAlert, readWall, writeWall, type WallState } from '../video/wall.js';
import { PtzPresets } from './camera-presets.js';
import { PtzControls } from './camera-single.js';
import { VideoTile } from './video-tile.js';

/** Something to put on the wall: a severe alert's cameras, or one camera asked for from an alert's detail. */
export interface WallRequest {
  key: string;
  /** The alert (its device's linked cameras are shown when `camera` is not given). */
  alert?: { id: string; rule: string; device: string };
  camera?: string;
}

/**
 * The command center's camera wall (issue 20 item 3): 1, 4 or 9 live tiles (the choice is remembered),
 * each showing a camera of the estate picked by name; the sub-stream in 4 and 9, the main stream
 * alone. A severe alert from a device linked to a camera puts that camera on the wall in place of the
 * first empty or the longest-shown tile that is not pinned, marked with the alert. It fills the panel
 * it is given (no scrolling on the 1920×1080 screen).
 */
export function CameraWall(props: { estate: string; requests: readonly WallRequest[]; onHandled: (key: string) => void }) {
  const { estate } = props;
  const { cameras, error } = useCameras(estate);
  const [wall, setWall] = useState<WallState>(() => readWall(estate));
  const ids = useMemo(() => cameras?.map((c) => c.device), [cameras]);
  const tiles = useMemo(() => fillTiles(wall.tiles, wall.layout, ids), [wall, ids]);
  const byId = useMemo(() => new Map((cameras ?? []).map((c) => [c.device, c])), [cameras]);
  const update = (next: WallState) => {
    setWall(next);
    writeWall(estate, next);
  };

  // Alerts (and cameras asked for) once the camera list is known: each placed once.
  useEffect(() => {
    if (!cameras || props.requests.length === 0) return;
    let next = fillTiles(wall.tiles, wall.layout, ids);
    for (const r of props.requests) {
      const targets = r.camera ? [r.camera] : r.alert ? camerasFor(cameras, r.alert.device).map((c) => c.device) : [];
      for (const cam of targets.slice(0, wall.layout)) next = placeAlert(next, cam, r.alert ? { id: r.alert.id, rule: r.alert.rule } : undefined, Date.now());
      props.onHandled(r.key);
    }
    update({ ...wall, tiles: next });
  }, [props.requests, cameras]);

  const quality = wall.layout === 1 ? 'main' : 'sub';
  return (
    <div class="camera-wall" data-layout={wall.layout} data-testid="camera-wall">
      <div class="wall-bar">
        <span class="muted">{t('video.layout')}</span>
        {LAYOUTS.map((n) => (
          <button key={n} type="button" class={`btn small${wall.layout === n ? ' on' : ''}`} aria-pressed={wall.layout === n} data-layout={n} onClick={() => update({ layout: n, tiles: fillTiles(tiles, n, ids) })}>
            {t('video.layoutN', { n })}
          </button>
        ))}
      </div>
      <ErrorNote what={t('video.cameras')} error={error ? describeError(error) : null} />
      {cameras && cameras.length === 0 && <p class="muted">{t('video.noCameras')}</p>}
      <div class={`wall wall-${wall.layout}`}>
        {tiles.map((tile, i) => {
          const cam = tile.device ? byId.get(tile.device) : undefined;
          const setTile = (device: string | null) => update({ ...wall, tiles: tiles.map((x, k) => (k === i ? { device, since: Date.now(), ...(x.pinned ? { pinned: true } : {}) } : x)) });
          return (
            <div key={i} class={`wall-cell${tile.alert ? ' alarm' : ''}${tile.pinned ? ' pinned' : ''}`} data-cell={i} data-device={tile.device ?? ''} data-alert-id={tile.alert?.id ?? ''}>
              <div class="cell-bar">
                <select aria-label={t('video.pick')} value={tile.device ?? ''} onChange={(e) => setTile(e.currentTarget.value || null)}>
                  <option value="">{t('video.empty')}</option>
                  {(cameras ?? []).map((c) => (
                    <option key={c.device} value={c.device}>
                      {cameraLabel(c)}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  class={`btn small pin${tile.pinned ? ' on' : ''}`}
                  aria-pressed={!!tile.pinned}
                  title={t('video.pin')}
                  aria-label={t('video.pin')}
                  onClick={() => update({ ...wall, tiles: tiles.map((x, k) => (k === i ? { ...x, pinned: !x.pinned } : x)) })}
                >
                  {t('video.pinShort')}
                </button>
              </div>
              {tile.alert && (
                <p class="cell-alarm" data-testid="wall-alarm">
                  {t('video.alarm', { rule: tOr('rule', tile.alert.rule) })}
                </p>
              )}
              {tile.device ? (
                <VideoTile estate={estate} device={tile.device} quality={qualityFor(cam, quality)} node={cam?.node} />
              ) : (
                <div class="video-tile empty" data-state="empty">
                  <p class="vt-status">{t('video.empty')}</p>
                </div>
              )}
              {/* One camera on the wall: its PTZ in a corner of the picture (the phone has the same controls). */}
              {wall.layout === 1 && tile.device && cam?.ptz && (
                <div class="wall-ptz" data-testid="wall-ptz">
                  <PtzControls estate={estate} device={tile.device} />
                  {cam.presets && cam.presets.length > 0 && <PtzPresets estate={estate} device={tile.device} presets={cam.presets} />}
                </div>
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
