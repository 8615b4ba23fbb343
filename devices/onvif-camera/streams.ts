import { PTZ_PRESET_NAME_MAX, PTZ_PRESETS_MAX } from '../../protocol/video.js';
import type { PtzPreset, VideoSource } from '../types.js';
import { cleanInfo } from './device-info.js';
import { asList, attr, isXml, path, text, type Xml } from './soap.js';
import { OnvifError } from './soap-client.js';

/**
 * A camera's live streams (issue 20, docs/video.md): the media profiles it lists (GetProfiles, Media
 * Service Spec §5.2.3) reduced to the two qualities the screens use — the largest picture as `main`,
 * the smallest as `sub` (one profile: both) — and the RTSP address of each (GetStreamUri, §5.15.1).
 * The device's answers are not trusted: sizes are bounded numbers, and an address is kept only when
 * it is rtsp:// or rtsps:// with a host, and without the credentials some cameras embed in it.
 */
export interface MediaProfile {
  token: string;
  /** tt:VideoEncoderConfiguration/tt:Encoding ("H264", "JPEG", ...), when the profile has one. */
  encoding: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** The profile has a PTZ configuration. */
  ptz: boolean;
}

/** Profiles read from one answer at most (a camera lists a handful). */
const MAX_PROFILES = 32;
const MAX_URI = 2048;

const dimension = (v: string | undefined): number | undefined => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n <= 16_384 ? n : undefined;
};

/** The profiles of a GetProfilesResponse, in the device's order; tokens are bounded printable ASCII. */
export function readProfiles(res: Xml): MediaProfile[] {
  const out: MediaProfile[] = [];
  for (const p of asList(res.Profiles).slice(0, MAX_PROFILES)) {
    const token = attr(p, 'token');
    if (!token || !/^[\x21-\x7e]{1,64}$/.test(token)) continue;
    const vec = path(p, 'VideoEncoderConfiguration');
    out.push({
      token,
      encoding: text(path(vec, 'Encoding'))?.slice(0, 16),
      width: dimension(text(path(vec, 'Resolution', 'Width'))),
      height: dimension(text(path(vec, 'Resolution', 'Height'))),
      ptz: isXml(path(p, 'PTZConfiguration')) || path(p, 'PTZConfiguration') === '',
    });
  }
  return out;
}

/**
 * The presets of a GetPresetsResponse (PTZ Service Spec §5.4.1), bounded for the screens: at most
 * PTZ_PRESETS_MAX, tokens 1–64 printable ASCII (a ReferenceToken; others dropped, duplicates too),
 * names decoded, stripped of control characters and cut to PTZ_PRESET_NAME_MAX (no name: the token).
 */
export function readPresets(res: Xml): PtzPreset[] {
  const out: PtzPreset[] = [];
  for (const p of asList(res.Preset).slice(0, 4 * PTZ_PRESETS_MAX)) {
    const token = attr(p, 'token');
    if (!token || !/^[\x21-\x7e]{1,64}$/.test(token) || out.some((x) => x.token === token)) continue;
    const name = cleanInfo(text(path(p, 'Name')));
    out.push({ token, name: [...(name ?? token)].slice(0, PTZ_PRESET_NAME_MAX).join('') });
    if (out.length === PTZ_PRESETS_MAX) break;
  }
  return out;
}

/** main: the largest H.264 picture; sub: the smallest (the first profile wins a tie). */
export function pickQualities(profiles: readonly MediaProfile[]): { main: MediaProfile; sub: MediaProfile } {
  // A profile that does not name its encoding may still be H.264 (some firmware leaves it out).
  const h264 = profiles.filter((p) => p.encoding === undefined || /^H\.?264$/i.test(p.encoding));
  if (h264.length === 0) throw new OnvifError('fault', `GetProfiles: no H.264 media profile (${profiles.length} profiles)`);
  const area = (p: MediaProfile): number => (p.width ?? 0) * (p.height ?? 0);
  let [main, sub] = [h264[0]!, h264[0]!];
  for (const p of h264) {
    if (area(p) > area(main)) main = p;
    if (area(p) < area(sub)) sub = p;
  }
  return { main, sub };
}

/**
 * The MediaUri of a GetStreamUriResponse, made safe: rtsp:// or rtsps:// with a host, no control
 * characters or spaces, at most 2 KB, embedded user and password dropped. Throws OnvifError otherwise.
 */
export function safeStreamUri(res: Xml): string {
  const raw = text(path(res, 'MediaUri', 'Uri'));
  if (!raw) throw new OnvifError('bad-xml', 'GetStreamUri: no URI in the answer');
  if (raw.length > MAX_URI || [...raw].some((c) => c <= ' ' || c === '\x7f') || !URL.canParse(raw)) throw new OnvifError('bad-xml', 'GetStreamUri: the URI is not a valid address');
  const url = new URL(raw);
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') throw new OnvifError('bad-xml', `GetStreamUri: not an RTSP address (${url.protocol.slice(0, 16)}), refused`);
  if (!url.hostname) throw new OnvifError('bad-xml', 'GetStreamUri: the RTSP address has no host');
  url.username = '';
  url.password = '';
  return url.toString();
}

export interface StreamsDeps {
  profiles(signal: AbortSignal): Promise<MediaProfile[]>;
  streamUri(token: string, signal: AbortSignal): Promise<string>;
  /** The device has a PTZ service (a PTZ configuration alone cannot be driven without it). */
  hasPtz(): boolean;
  /** GetPresets of the profile PTZ commands use; asked only when a source has PTZ. A failure lists none. */
  presets?(signal: AbortSignal): Promise<PtzPreset[]>;
  username: string;
  password: string;
  /** How long an answer is reused (default 60 s). */
  cacheMs?: number;
  now?: () => number;
}

/** `streams(signal)`: asked of the device at most once a minute; concurrent callers share one asking. */
export function createStreamLister(d: StreamsDeps): (signal: AbortSignal) => Promise<VideoSource[]> {
  const cacheMs = d.cacheMs ?? 60_000;
  const now = d.now ?? Date.now;
  let cached: { at: number; sources: VideoSource[] } | undefined;
  let asking: Promise<VideoSource[]> | undefined;

  async function ask(signal: AbortSignal): Promise<VideoSource[]> {
    const { main, sub } = pickQualities(await d.profiles(signal));
    const uriOf = new Map<string, string>();
    for (const p of main === sub ? [main] : [main, sub]) uriOf.set(p.token, await d.streamUri(p.token, signal));
    const ptz = (p: MediaProfile): boolean => p.ptz && d.hasPtz();
    // A camera that cannot list its presets still streams and still moves: it just has no preset buttons.
    const presets = d.presets && (ptz(main) || ptz(sub)) ? await d.presets(signal).catch(() => []) : [];
    const source = (quality: VideoSource['quality'], p: MediaProfile): VideoSource => ({
      quality,
      uri: uriOf.get(p.token)!,
      username: d.username,
      password: d.password,
      width: p.width,
      height: p.height,
      ptz: ptz(p),
      ...(ptz(p) && presets.length ? { presets: presets.map((x) => ({ ...x })) } : {}),
    });
    return [source('main', main), source('sub', sub)];
  }

  return async (signal) => {
    const copy = (list: VideoSource[]): VideoSource[] => list.map((s) => ({ ...s, ...(s.presets ? { presets: s.presets.map((x) => ({ ...x })) } : {}) }));
    if (cached && now() - cached.at < cacheMs) return copy(cached.sources);
    asking ??= ask(signal).finally(() => (asking = undefined));
    const sources = await asking;
    cached = { at: now(), sources };
    return copy(sources);
  };
}
