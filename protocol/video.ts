/**
 * Live video (issue 20; docs/video.md): the two WebSocket links and what crosses them. Plain types and
 * small pure helpers only: the browser bundle imports this file.
 *
 *   camera ──RTSP──▶ gateway (ffmpeg -c copy → fragmented MP4) ──relay WS──▶ hub ──viewer WS──▶ screen (MSE)
 *
 * - The relay link: ONE outbound WebSocket per gateway, `GET {hub}/api/v1/video/relay`, HTTP Basic with
 *   the gateway's MQTT username and password (like snapshot uploads). The hub asks for a stream only
 *   while someone watches it; the gateway pulls RTSP only between `open` and `close`.
 * - The viewer link: `GET {hub}/api/v1/video/live`, one WebSocket per watched stream; the first text
 *   message carries the user's access token (never in the URL, so never in a log).
 *
 * Media: H.264 as the camera sends it, never re-encoded: ffmpeg remuxes RTSP into fragmented MP4
 * (`-c copy -movflags empty_moov+default_base_moof+frag_keyframe`), so every media segment (one `moof`
 * and its `mdat`) starts with a key frame and a viewer can join at any segment.
 */

/** main: the camera's first (largest) profile, for a single view; sub: its smallest, for wall tiles. */
export type VideoQuality = 'main' | 'sub';
export const VIDEO_QUALITIES = ['main', 'sub'] as const satisfies readonly VideoQuality[];

/** Why a stream cannot be watched; the screens say each in the viewer's language (web i18n `video.err.*`). */
export type VideoErrorCode =
  /** No token, a bad one, or the camera is outside the viewer's scope (said like "no such camera"). */
  | 'RB_ERR_UNAUTHENTICATED'
  | 'RB_ERR_NOT_FOUND'
  /** The camera's gateway has no relay link to the hub right now. */
  | 'RB_ERR_GATEWAY_OFFLINE'
  /** The gateway could not pull the camera's stream (unreachable, refused, no H.264, timed out). */
  | 'RB_ERR_CAMERA_UNREACHABLE'
  /** A cap (`video.maxViewersPerStream`, `video.maxStreamsPerEstate`, `video.maxBytesPerSecondPerEstate`, the gateway's `video.maxStreams`). */
  | 'RB_ERR_VIDEO_CAP'
  /** The stream broke its limits (a segment over `video.maxSegmentBytes`, a stall) and was stopped. */
  | 'RB_ERR_VIDEO_BROKEN'
  /** The hub stops (a restart); the screen reconnects. */
  | 'RB_ERR_UNAVAILABLE';

// ── relay link: hub → gateway (text frames, JSON) ───────────────────────────────────────────────────

/** Start pulling `device`'s RTSP stream of `quality`; answer `opened` or `error` with the same `sid`. */
export interface RelayOpen {
  t: 'open';
  /** Stream id chosen by the hub, [A-Za-z0-9_-]{1,32}; tags every binary frame of this stream. */
  sid: string;
  device: string;
  quality: VideoQuality;
}
/** Stop pulling (the last viewer left, after the hub's linger). No answer. */
export interface RelayClose {
  t: 'close';
  sid: string;
}
export type RelayToGateway = RelayOpen | RelayClose;

// ── relay link: gateway → hub (text frames, JSON) ───────────────────────────────────────────────────

/** Sent once after the link opens: the cameras this gateway can stream and their profiles. */
export interface RelayHello {
  t: 'hello';
  /** The gateway's software version, for the hub's log. */
  version: string;
  cameras: Array<{ device: string; ptz: boolean; profiles: Array<{ quality: VideoQuality; width?: number; height?: number }>; presets?: VideoPreset[] }>;
}

/**
 * A PTZ preset as the screens show it (a button): `token` goes into `ptz.preset {preset}`. In `hello`
 * only for PTZ cameras, at most PTZ_PRESETS_MAX, token 1–64 printable ASCII, name 1–64 characters.
 */
export interface VideoPreset {
  token: string;
  name: string;
}
export const PTZ_PRESETS_MAX = 64;
export const PTZ_PRESET_NAME_MAX = 64;
/** The stream runs; the init segment follows as a binary frame. `mime` is for MediaSource.addSourceBuffer. */
export interface RelayOpened {
  t: 'opened';
  sid: string;
  /** e.g. `video/mp4; codecs="avc1.64001f"` (from the init segment's avcC, see `avcCodecString`). */
  mime: string;
  width?: number;
  height?: number;
}
/** The stream could not start or stopped by itself; the hub tells its viewers and forgets the sid. */
export interface RelayError {
  t: 'error';
  sid: string;
  code: VideoErrorCode;
  message: string;
}
export type RelayToHub = RelayHello | RelayOpened | RelayError;

// ── binary frames (both links) ──────────────────────────────────────────────────────────────────────

/** Binary frame kinds: an init segment (`ftyp` + `moov`) or a media segment (`moof` + `mdat`). */
export const FRAME_INIT = 1;
export const FRAME_MEDIA = 2;

/**
 * A relay binary frame: [kind: u8][sid length: u8][sid: ASCII][segment bytes]. The viewer link carries
 * segments bare (one stream per socket): the init segment first, then media segments.
 */
export function encodeRelayFrame(kind: typeof FRAME_INIT | typeof FRAME_MEDIA, sid: string, segment: Uint8Array): Uint8Array {
  const head = new Uint8Array(2 + sid.length);
  head[0] = kind;
  head[1] = sid.length;
  for (let i = 0; i < sid.length; i++) head[2 + i] = sid.charCodeAt(i) & 0x7f;
  const out = new Uint8Array(head.length + segment.length);
  out.set(head, 0);
  out.set(segment, head.length);
  return out;
}

/** The frame's kind, sid and segment; null when it is not a well-formed relay frame. */
export function decodeRelayFrame(frame: Uint8Array): { kind: number; sid: string; segment: Uint8Array } | null {
  if (frame.length < 3) return null;
  const kind = frame[0]!;
  const n = frame[1]!;
  if ((kind !== FRAME_INIT && kind !== FRAME_MEDIA) || n < 1 || n > 32 || frame.length < 2 + n) return null;
  let sid = '';
  for (let i = 0; i < n; i++) {
    const c = frame[2 + i]!;
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95)) return null;
    sid += String.fromCharCode(c);
  }
  return { kind, sid, segment: frame.subarray(2 + n) };
}

// ── viewer link (text frames, JSON) ─────────────────────────────────────────────────────────────────

/** The viewer's first message: who is watching what. */
export interface ViewerHello {
  t: 'watch';
  token: string;
  estate: string;
  device: string;
  quality: VideoQuality;
}
/** The stream is coming: create the SourceBuffer with `mime`; binary segments follow, the init segment first. */
export interface ViewerReady {
  t: 'ready';
  mime: string;
  width?: number;
  height?: number;
}
/** The stream cannot be watched or stopped; the socket closes after it. */
export interface ViewerError {
  t: 'error';
  code: VideoErrorCode;
  message: string;
  /** RB_ERR_GATEWAY_OFFLINE in a cluster: the hub node that holds the gateway's relay link (watch again with `?node=`). */
  node?: string;
}
export type ViewerMessage = ViewerReady | ViewerError;

/** A camera as the screens list it (`GET /api/v1/video/cameras?estate=`). */
export interface VideoCameraView {
  estate: string;
  gateway: string;
  device: string;
  name: string | null;
  online: boolean | null;
  /** The gateway's relay link is up (on any live hub node), so the camera can be watched now. */
  relay: boolean;
  /** The hub node holding that relay link (`cluster.nodeId`), when `relay`: the player asks for `/api/v1/video/live?node=<node>`, which HAProxy routes there. */
  node?: string;
  ptz: boolean;
  qualities: VideoQuality[];
  /** Doors and barriers whose alarms this camera shows (the gateway's `cameras` links). */
  linkedFrom: string[];
  /** The camera's PTZ presets from `hello` (the hub always sends the list, empty without PTZ; optional for older hubs). */
  presets?: VideoPreset[];
}
