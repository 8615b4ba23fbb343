import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { VideoQuality } from '../../../protocol/video.js';
import { t, tOr } from '../i18n/index.js';
import { startPlayer, type PlayerStatus } from '../video/player.js';
import '../video.css';

/** What a tile says about its stream, in the viewer's language (a cap also shows the hub's own words). */
export function statusText(s: PlayerStatus): string | null {
  if (s.state === 'playing') return null;
  if (s.state === 'connecting') return s.retrying ? t('video.reconnecting') : t('video.connecting');
  if (s.state === 'offline') return `${t('video.offline')} · ${t('video.reconnecting')}`;
  const code = s.code ? tOr('video.err', s.code) : t('video.offline');
  const why = s.code === 'RB_ERR_VIDEO_CAP' && s.message ? t('video.withDetail', { why: code, detail: s.message }) : code;
  return `${why}${s.retrying && s.code !== 'RB_ERR_GATEWAY_OFFLINE' ? ` · ${t('video.reconnecting')}` : ''}`;
}

/**
 * One live picture: plays `device`'s stream while mounted (web/src/video/player.ts) and says what is
 * wrong when it cannot. `data-state` (connecting | playing | error | offline) is for tests and styles.
 * Re-keying is not needed: a change of camera or quality restarts the stream.
 */
export function VideoTile(props: { estate: string; device: string; quality: VideoQuality; node?: string | undefined; name?: string; class?: string; children?: ComponentChildren }) {
  const ref = useRef<HTMLVideoElement>(null);
  // The relay's node (cluster) is a routing hint: a new hint applies to the next attempt, it does not restart a playing stream.
  const node = useRef(props.node);
  node.current = props.node;
  const [status, setStatus] = useState<PlayerStatus>({ state: 'connecting', retrying: false });
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    setStatus({ state: 'connecting', retrying: false });
    try {
      return startPlayer(video, { estate: props.estate, device: props.device, quality: props.quality, node: () => node.current, onStatus: setStatus });
    } catch (err) {
      setStatus({ state: 'error', code: 'unsupported', message: (err as Error)?.message, retrying: false });
      return undefined;
    }
  }, [props.estate, props.device, props.quality]);
  const text = statusText(status);
  return (
    <figure class={`video-tile ${props.class ?? ''}`} data-state={status.state} data-code={status.code ?? ''} data-device={props.device} data-quality={props.quality}>
      <video ref={ref} muted playsInline autoPlay disablePictureInPicture />
      {props.name && <figcaption class="vt-name">{props.name}</figcaption>}
      {text && (
        <p class={`vt-status ${status.state}`} role="status" data-testid="video-status">
          {text}
        </p>
      )}
      {props.children}
    </figure>
  );
}
