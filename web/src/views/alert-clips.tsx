import { useEffect, useState } from 'preact/hooks';
import { api, authHeader } from '../api.js';
import { formatTime } from '../format.js';
import { t } from '../i18n/index.js';

/** A clip as GET /api/v1/alerts/{id}/clips lists it (hub/clips/routes.ts `ClipView`). */
interface Clip {
  sha256: string;
  camera: string;
  cameraName?: string;
  eventId: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  url: string;
}

/** How long after the alarm a clip may still come: the gateway records 20 s past it, then uploads. */
const EXPECT_WITHIN_MS = 3 * 60_000;
const POLL_MS = 5_000;

/**
 * An alert's alarm clips (docs/video.md, "Alarm clips"): each a button that fetches the clip (with the
 * Bearer header a <video src> cannot send; every fetch is an audited view at the hub) and plays it
 * in place. While the alert is young and its device links a camera, the list is asked again every
 * 5 s and says the clip is on its way.
 */
export function AlertClips(props: { alertId: string; openedAt: number; cameraLinked?: boolean | null | undefined }) {
  const [clips, setClips] = useState<Clip[] | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const got = await api<{ items: Clip[] }>(`/api/v1/alerts/${props.alertId}/clips`).then((r) => r.items, () => null);
      if (!live) return;
      if (got) setClips(got);
      if ((got?.length ?? 0) === 0 && props.cameraLinked !== false && Date.now() - props.openedAt < EXPECT_WITHIN_MS) timer = setTimeout(() => void load(), POLL_MS);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [props.alertId]);

  const young = Date.now() - props.openedAt < EXPECT_WITHIN_MS;
  if (!clips || clips.length === 0) {
    if (!props.cameraLinked) return null;
    return <p class="muted clip-note" data-testid="alert-clip-pending">{young ? t('video.clip.pending', { s: 30 }) : t('video.clip.none')}</p>;
  }
  return (
    <section class="alert-clips" aria-label={t('video.clip.title')}>
      <h3>{t('video.clip.title')}</h3>
      {clips.map((c) => (
        <ClipPlayer key={`${c.eventId}/${c.camera}`} clip={c} />
      ))}
    </section>
  );
}

function ClipPlayer(props: { clip: Clip }) {
  const c = props.clip;
  const [src, setSrc] = useState<string | null>(null);
  const [state, setState] = useState<'idle' | 'loading' | 'failed'>('idle');
  const [why, setWhy] = useState('');
  useEffect(() => () => void (src && URL.revokeObjectURL(src)), [src]);
  const seconds = Math.max(1, Math.round(c.durationMs / 1000));
  const play = async () => {
    setState('loading');
    try {
      const res = await fetch(c.url, { headers: authHeader() });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      setSrc(URL.createObjectURL(await res.blob()));
      setState('idle');
    } catch (err) {
      setWhy((err as Error).message);
      setState('failed');
    }
  };
  return (
    <div class="alert-clip" data-testid="alert-clip" data-camera={c.camera}>
      <p class="clip-meta">
        {c.cameraName ?? c.camera} · {formatTime(c.startedAt)}–{formatTime(c.endedAt)}
      </p>
      {src ? (
        <video src={src} controls autoplay muted playsInline class="clip-video" />
      ) : (
        <button type="button" class="btn" onClick={() => void play()} disabled={state === 'loading'} data-testid="alert-clip-play">
          ▶ {state === 'loading' ? t('video.clip.loading') : t('video.clip.play', { camera: c.cameraName ?? c.camera, s: seconds })}
        </button>
      )}
      {state === 'failed' && (
        <p class="error" role="alert">
          {t('video.clip.failed', { why })}
        </p>
      )}
    </div>
  );
}
