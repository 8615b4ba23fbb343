import { Router, type RequestHandler } from 'express';
import { Id } from '../../protocol/ids.js';
import { VIDEO_QUALITIES, type RelayHello, type VideoCameraView, type VideoPreset, type VideoQuality } from '../../protocol/video.js';
import { RbError } from '../errors.js';
import type { StateService } from '../state/index.js';
import { principalOf, requireEstate } from '../api/user-auth.js';
import type { RelayHolder } from './relays.js';
import type { Streams } from './streams.js';

const CAMERA_KIND = 'onvif-camera';

export type CameraLookup = (estate: string, device: string) => Promise<string | null>;

/** The cluster's relay registry as the cameras see it (hub/video/relays.ts); absent on the embedded hub. */
export interface RemoteRelays {
  readonly nodeId: string;
  holders(estate: string): Promise<RelayHolder[]>;
}

type Via = Map<string, { node: string; cameras: RelayHello['cameras'] | undefined }>;

/**
 * Where each gateway of the estate has its relay link: this node's own links first, then live rows of
 * the registry naming another node (a row naming this node without a link here is stale: ignored).
 */
async function relaysOf(streams: Pick<Streams, 'linksOf'>, estate: string, remote: RemoteRelays | undefined, nodeId: string | undefined): Promise<Via> {
  const via: Via = new Map();
  for (const l of streams.linksOf(estate)) via.set(l.gateway, { node: remote?.nodeId ?? nodeId ?? '', cameras: l.hello?.cameras });
  if (remote) for (const h of await remote.holders(estate)) if (!via.has(h.gateway) && h.node !== remote.nodeId) via.set(h.gateway, { node: h.node, cameras: h.cameras ?? undefined });
  return via;
}

/**
 * The cameras of an estate: its devices of kind onvif-camera in the live state (from the gateways'
 * status), and those a relay link's `hello` lists (a gateway whose status has not arrived yet), on
 * this node or, in a cluster, on the node the registry names (`node`).
 */
export async function listCameras(
  state: Pick<StateService, 'live'>,
  streams: Pick<Streams, 'linksOf'>,
  estate: string,
  remote?: RemoteRelays,
  nodeId?: string,
): Promise<VideoCameraView[]> {
  const es = state.live.estates.get(estate);
  const via = await relaysOf(streams, estate, remote, nodeId);
  const out = new Map<string, VideoCameraView>();
  const qualitiesOf = (profiles: Array<{ quality: VideoQuality }> | undefined): VideoQuality[] =>
    profiles ? VIDEO_QUALITIES.filter((q) => profiles.some((p) => p.quality === q)) : [...VIDEO_QUALITIES];
  const presetsOf = (c: RelayHello['cameras'][number] | undefined): VideoPreset[] => (c?.ptz ? (c.presets ?? []).map((p) => ({ token: p.token, name: p.name })) : []);
  const nodeOf = (gateway: string) => {
    const v = via.get(gateway);
    return v && v.node ? { node: v.node } : {};
  };
  for (const d of es?.devices.values() ?? []) {
    if (d.kind !== CAMERA_KIND) continue;
    const h = via.get(d.gateway)?.cameras?.find((c) => c.device === d.device);
    out.set(d.device, {
      estate,
      gateway: d.gateway,
      device: d.device,
      name: d.name ?? null,
      online: d.online,
      relay: via.has(d.gateway),
      ...nodeOf(d.gateway),
      ptz: h?.ptz ?? false,
      qualities: qualitiesOf(h?.profiles),
      linkedFrom: [],
      presets: presetsOf(h),
    });
  }
  for (const [gateway, v] of via) {
    for (const c of v.cameras ?? []) {
      if (out.has(c.device)) continue;
      const d = es?.devices.get(c.device);
      out.set(c.device, { estate, gateway, device: c.device, name: d?.name ?? null, online: d?.online ?? null, relay: true, ...nodeOf(gateway), ptz: c.ptz, qualities: qualitiesOf(c.profiles), linkedFrom: [], presets: presetsOf(c) });
    }
  }
  for (const d of es?.devices.values() ?? []) for (const cam of d.cameras ?? []) out.get(cam)?.linkedFrom.push(d.device);
  for (const v of out.values()) v.linkedFrom.sort();
  return [...out.values()].sort((a, b) => a.device.localeCompare(b.device));
}

/** The gateway a viewer's camera is watched through, or null (no such camera in the estate). */
export function cameraLookup(state: Pick<StateService, 'live'>, streams: Pick<Streams, 'link' | 'linksOf'>, remote?: RemoteRelays): CameraLookup {
  const inHello = (cams: RelayHello['cameras'] | null | undefined, device: string) => !!cams?.some((c) => c.device === device);
  return async (estate, device) => {
    const d = state.live.estates.get(estate)?.devices.get(device);
    if (d && (d.kind === CAMERA_KIND || inHello(streams.link(estate, d.gateway)?.hello?.cameras, device))) return d.gateway;
    if (!d) {
      const local = streams.linksOf(estate).find((l) => inHello(l.hello?.cameras, device));
      if (local) return local.gateway;
    }
    // A camera only another node's relay lists (its hello is in the registry's row).
    const held = remote ? (await remote.holders(estate)).find((h) => h.node !== remote.nodeId && inHello(h.cameras, device) && (!d || h.gateway === d.gateway)) : undefined;
    return held?.gateway ?? null;
  };
}

/** GET /api/v1/video/cameras?estate= — any user with the estate in scope (403 outside it): a bare VideoCameraView[] (docs/video.md), PTZ presets from the relay's hello. */
export function cameraRoutes(auth: RequestHandler, state: Pick<StateService, 'live'>, streams: Pick<Streams, 'linksOf'>, remote?: RemoteRelays, nodeId?: string): Router {
  const router = Router();
  router.get('/api/v1/video/cameras', auth, async (req, res) => {
    const parsed = Id.safeParse(req.query.estate);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_ID', 'estate is required and must match [a-z0-9-]{1,64}');
    requireEstate(principalOf(res), parsed.data);
    res.json((await listCameras(state, streams, parsed.data, remote, nodeId)) satisfies VideoCameraView[]);
  });
  return router;
}
