import { useEffect, useState } from 'preact/hooks';
import type { VideoCameraView, VideoQuality } from '../../../protocol/video.js';
import { api } from '../api.js';
import { t } from '../i18n/index.js';

export type { VideoCameraView };

/**
 * The estate's cameras (`GET /api/v1/video/cameras?estate=`), loaded when a screen shows video and
 * again every `everyMs` (the relay comes and goes). The error is kept as it came (worded at render).
 */
export function useCameras(estate: string | null, everyMs = 30_000): { cameras: VideoCameraView[] | undefined; error: unknown } {
  const [cameras, setCameras] = useState<VideoCameraView[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!estate) return;
    let alive = true;
    const load = () =>
      api<VideoCameraView[]>(`/api/v1/video/cameras?estate=${encodeURIComponent(estate)}`).then(
        (list) => alive && (setCameras(Array.isArray(list) ? list : []), setError(null)),
        (err: unknown) => alive && setError(err),
      );
    void load();
    const id = setInterval(() => void load(), everyMs);
    return () => {
      alive = false;
      clearInterval(id);
    };
  }, [estate, everyMs]);
  return { cameras, error };
}

/** A camera's name for people, with why it cannot be watched now (离线 / 网关未连接). */
export function cameraLabel(c: VideoCameraView): string {
  const name = c.name ?? c.device;
  if (c.online === false) return t('video.camState', { name, state: t('video.camOffline') });
  if (!c.relay) return t('video.camState', { name, state: t('video.camNoRelay') });
  return name;
}

/** The stream to ask for: `want` when the camera has it, else the one it has. */
export const qualityFor = (c: VideoCameraView | undefined, want: VideoQuality): VideoQuality =>
  !c || c.qualities.length === 0 || c.qualities.includes(want) ? want : c.qualities[0]!;

/** Cameras that show what happens at `device` (linked to it, or the camera itself). */
export const camerasFor = (cameras: readonly VideoCameraView[], device: string): VideoCameraView[] =>
  cameras.filter((c) => c.device === device || c.linkedFrom.includes(device));
