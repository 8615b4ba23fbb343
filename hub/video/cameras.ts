import { Router, type RequestHandler } from 'express';
import { Id } from '../../protocol/ids.js';
import { VIDEO_QUALITIES, type RelayHello, type VideoCameraView, type VideoPreset, type VideoQuality } from '../../protocol/video.js';
import { RbError } from '../errors.js';
import type { StateService } from '../state/index.js';
import { principalOf, requireEstate } from '../api/user-auth.js';
import type { Streams } from './streams.js';

const CAMERA_KIND = 'onvif-camera';

export type CameraLookup = (estate: string, device: string) => string | null;

/**
 * The cameras of an estate: its devices of kind onvif-camera in the live state (from the gateways'
 * status), and those a relay link's `hello` lists (a gateway whose status has not arrived yet).
 */
export function listCameras(state: Pick<StateService, 'live'>, streams: Pick<Streams, 'link' | 'linksOf'>, estate: string): VideoCameraView[] {
  const es = state.live.estates.get(estate);
  const out = new Map<string, VideoCameraView>();
  const fromHello = (gateway: string, device: string) => streams.link(estate, gateway)?.hello?.cameras.find((c) => c.device === device);
  const qualitiesOf = (profiles: Array<{ quality: VideoQuality }> | undefined): VideoQuality[] =>
    profiles ? VIDEO_QUALITIES.filter((q) => profiles.some((p) => p.quality === q)) : [...VIDEO_QUALITIES];
  const presetsOf = (c: RelayHello['cameras'][number] | undefined): VideoPreset[] => (c?.ptz ? (c.presets ?? []).map((p) => ({ token: p.token, name: p.name })) : []);
  for (const d of es?.devices.values() ?? []) {
    if (d.kind !== CAMERA_KIND) continue;
    const h = fromHello(d.gateway, d.device);
    out.set(d.device, {
      estate,
      gateway: d.gateway,
      device: d.device,
      name: d.name ?? null,
      online: d.online,
      relay: streams.link(estate, d.gateway) !== undefined,
      ptz: h?.ptz ?? false,
      qualities: qualitiesOf(h?.profiles),
      linkedFrom: [],
      presets: presetsOf(h),
    });
  }
  for (const link of streams.linksOf(estate)) {
    for (const c of link.hello?.cameras ?? []) {
      if (out.has(c.device)) continue;
      const d = es?.devices.get(c.device);
      out.set(c.device, { estate, gateway: link.gateway, device: c.device, name: d?.name ?? null, online: d?.online ?? null, relay: true, ptz: c.ptz, qualities: qualitiesOf(c.profiles), linkedFrom: [], presets: presetsOf(c) });
    }
  }
  for (const d of es?.devices.values() ?? []) for (const cam of d.cameras ?? []) out.get(cam)?.linkedFrom.push(d.device);
  for (const v of out.values()) v.linkedFrom.sort();
  return [...out.values()].sort((a, b) => a.device.localeCompare(b.device));
}

/** The gateway a viewer's camera is watched through, or null (no such camera in the estate). */
export function cameraLookup(state: Pick<StateService, 'live'>, streams: Pick<Streams, 'link' | 'linksOf'>): CameraLookup {
  return (estate, device) => {
    const d = state.live.estates.get(estate)?.devices.get(device);
    if (d) return d.kind === CAMERA_KIND || streams.link(estate, d.gateway)?.hello?.cameras.some((c) => c.device === device) ? d.gateway : null;
    return streams.linksOf(estate).find((l) => l.hello?.cameras.some((c) => c.device === device))?.gateway ?? null;
  };
}

/** GET /api/v1/video/cameras?estate= — any user with the estate in scope (403 outside it): a bare VideoCameraView[] (docs/video.md), PTZ presets from the relay's hello. */
export function cameraRoutes(auth: RequestHandler, state: Pick<StateService, 'live'>, streams: Pick<Streams, 'link' | 'linksOf'>): Router {
  const router = Router();
  router.get('/api/v1/video/cameras', auth, (req, res) => {
    const parsed = Id.safeParse(req.query.estate);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_ID', 'estate is required and must match [a-z0-9-]{1,64}');
    requireEstate(principalOf(res), parsed.data);
    res.json(listCameras(state, streams, parsed.data) satisfies VideoCameraView[]);
  });
  return router;
}
