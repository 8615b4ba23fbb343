import { api } from './api.js';
import type { PatrolHistoryItem, PatrolRunView, PatrolScanResult } from '../../protocol/patrol.js';

export type { PatrolHistoryItem, PatrolPointView, PatrolRunView, PatrolScanResult } from '../../protocol/patrol.js';

/**
 * Patrol rounds on the phone (巡更, issue 19): the checkpoint code in what a QR code carries or what
 * a person typed, the scan request, and the camera scanner (getUserMedia → <video> → <canvas> →
 * jsQR, a kept decoder that needs no native API, loaded when a scan starts).
 */

const CODE = /^[0-9A-HJKMNP-TV-Z]{12}$/;

/**
 * The checkpoint code in a scanned text (`https://hub/p/CODE`) or a typed one (any case, spaces or
 * dashes; O read as 0 and I, L as 1, as Crockford base32 does). Null when it is not a code.
 */
export function codeOf(text: string): string | null {
  const s = text.trim();
  const url = /\/p\/([0-9A-Za-z]{12})\/?(?:[?#].*)?$/.exec(s);
  const c = (url ? url[1]! : s).toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return CODE.test(c) ? c : null;
}

export const scanCode = (code: string): Promise<PatrolScanResult> => api<PatrolScanResult>('/api/v1/patrol/scan', { method: 'POST', body: { code } });
export const loadRuns = (estate: string | null): Promise<{ at: number; items: PatrolRunView[] }> => api(`/api/v1/patrol/runs${estate ? `?estate=${estate}` : ''}`);
export const loadHistory = (): Promise<{ items: PatrolHistoryItem[] }> => api('/api/v1/patrol/history?limit=30');

/** The run to walk now: the first active one with a checkpoint left, else the next upcoming one. */
export function currentRun(runs: readonly PatrolRunView[]): PatrolRunView | undefined {
  return runs.find((r) => r.state === 'active' && r.next) ?? runs.find((r) => r.state === 'upcoming');
}

export interface Scanner {
  stop(): void;
}

/** Frames looked at per second: enough to catch a code held still, little battery. */
const FRAME_MS = 125;
/** Frames are scaled down to this many pixels on their long side before decoding. */
const MAX_SIDE = 640;

/**
 * Open the back camera into `video` and decode frames drawn on `canvas` until a QR code reads; then
 * stop the camera and call `onText` once. Throws when the camera cannot be opened (no permission, no
 * camera, an insecure page): the caller offers the typed code instead.
 */
export async function startScanner(video: HTMLVideoElement, canvas: HTMLCanvasElement, onText: (text: string) => void): Promise<Scanner> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('camera not available (needs HTTPS)');
  // The decoder (~48 KiB gzipped) is fetched when a scan starts, not with every screen (a lazy chunk).
  const [{ default: jsQR }, stream] = await Promise.all([import('jsqr'), navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false })]);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = (): void => {
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  video.muted = true;
  video.setAttribute('playsinline', '');
  video.srcObject = stream;
  try {
    await video.play();
  } catch (err) {
    stop();
    throw err;
  }
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) {
    stop();
    throw new Error('no 2d canvas');
  }
  const frame = (): void => {
    if (stopped) return;
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (vw > 0 && vh > 0) {
      const scale = Math.min(1, MAX_SIDE / Math.max(vw, vh));
      const w = Math.round(vw * scale);
      const h = Math.round(vh * scale);
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      ctx.drawImage(video, 0, 0, w, h);
      const found = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: 'dontInvert' });
      if (found?.data) {
        stop();
        onText(found.data);
        return;
      }
    }
    timer = setTimeout(frame, FRAME_MS);
  };
  frame();
  return { stop };
}
