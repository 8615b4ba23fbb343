import express, { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id, Ulid } from '../../protocol/index.js';
import type { AlertStore } from '../alerts/store.js';
import type { NameOf } from '../alerts/view.js';
import { gatewayAuth } from '../api/auth.js';
import { inScope, principalOf } from '../api/user-auth.js';
import type { Audit } from '../audit.js';
import { sha256Hex } from '../blobs.js';
import { badQueryOf, RbError } from '../errors.js';
import type { GatewayIdentity, Registry } from '../registry.js';
import type { ClipLink, ClipStore } from './store.js';

const Sha = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in lowercase hex');
const Ms = z.string().regex(/^\d{1,15}$/, 'milliseconds since 1970').transform(Number);
const UploadQuery = z.object({ event: Ulid, device: Id, camera: Id, startedAt: Ms, endedAt: Ms }).strict();

/** A clip as the screens get it: names beside ids, the URL to fetch it from. */
export interface ClipView extends ClipLink {
  url: string;
  cameraName?: string;
  durationMs: number;
}

export interface ClipRoutesDeps {
  clips: ClipStore;
  registry: Pick<Registry, 'authenticate'>;
  alerts: Pick<AlertStore, 'get'>;
  audit: Pick<Audit, 'recordInBackground'>;
  nameOf?: NameOf;
  /** User token or RB_API_TOKEN. */
  auth: RequestHandler;
  /** video.clips.maxBytes: the largest upload. */
  maxBytes: number;
  log: Logger;
}

/** An MP4 starts with its `ftyp` box (ISO/IEC 14496-12 §4.3). */
const isMp4 = (b: Buffer): boolean => b.length >= 16 && b.toString('latin1', 4, 8) === 'ftyp';

/**
 * PUT /api/v1/clips/{sha256}?event=&device=&camera=&startedAt=&endedAt=   (gateway, Basic auth; body video/mp4)
 * GET /api/v1/clips/{sha256}                                              (user or API token; scoped, audited)
 * GET /api/v1/alerts/{id}/clips                                           (user or API token; scoped)
 * Out of scope reads as absent (404): a 403 would confirm the clip exists.
 */
export function clipRoutes(deps: ClipRoutesDeps): Router {
  const router = Router();
  const view = (l: ClipLink): ClipView => {
    const cameraName = deps.nameOf?.device?.(l.estate, l.camera);
    return { ...l, url: `/api/v1/clips/${l.sha256}`, durationMs: Math.max(0, l.endedAt - l.startedAt), ...(cameraName ? { cameraName } : {}) };
  };

  router.put('/api/v1/clips/:sha', gatewayAuth(deps.registry), express.raw({ type: () => true, limit: deps.maxBytes }), async (req, res) => {
    const who = res.locals.gateway as GatewayIdentity;
    const sha = Sha.safeParse(req.params.sha);
    const q = UploadQuery.safeParse(req.query);
    if (!sha.success || !q.success) {
      throw badQueryOf([sha.error, q.error], 'sha256');
    }
    const body = req.body as Buffer;
    if (!Buffer.isBuffer(body) || !isMp4(body)) throw new RbError('RB_ERR_BAD_CLIP', 'the body is not an MP4 (no ftyp box first)');
    if (sha256Hex(body) !== sha.data) throw new RbError('RB_ERR_BAD_CLIP', 'the body does not match its sha256');
    const { event, device, camera, startedAt, endedAt } = q.data;
    const link = { eventId: event, camera, sha256: sha.data, estate: who.estate, gateway: who.gateway, device, startedAt, endedAt };
    const added = await deps.clips.put(link, body);
    if (added) deps.log.info({ ...link, bytes: body.length }, 'alarm clip stored');
    res.status(added ? 201 : 200).json({ sha256: sha.data, event });
  });

  router.get('/api/v1/clips/:sha', deps.auth, async (req, res) => {
    const sha = Sha.safeParse(req.params.sha);
    const p = principalOf(res);
    const links = sha.success ? (await deps.clips.linksOf(sha.data)).filter((l) => inScope(p, l.estate)) : [];
    const blob = links.length > 0 ? await deps.clips.bytes(sha.data!) : undefined;
    if (!blob || !links[0]) throw new RbError('RB_ERR_NOT_FOUND', 'no such clip');
    // One audit row per viewing: a player's later range requests (seeking) are not new views.
    const range = req.headers.range;
    if (!range || /^bytes=0-/.test(range)) {
      const l = links[0];
      deps.audit.recordInBackground({ actor: p.kind === 'user' ? `user:${p.id}` : p.id, action: 'video.clip', estate: l.estate, target: `device:${l.camera}`, detail: { event: l.eventId, sha256: l.sha256, durationMs: l.endedAt - l.startedAt } });
    }
    res.type('video/mp4').set('Cache-Control', 'private, max-age=31536000, immutable');
    if (blob.file !== undefined) res.sendFile(blob.file);
    else res.send(blob.bytes);
  });

  router.get('/api/v1/alerts/:id/clips', deps.auth, async (req, res) => {
    const id = Ulid.safeParse(req.params.id);
    if (!id.success) throw new RbError('RB_ERR_BAD_ID', 'alert id must be a ULID');
    const p = principalOf(res);
    const alert = await deps.alerts.get(id.data);
    if (!alert || !inScope(p, alert.estate)) throw new RbError('RB_ERR_NOT_FOUND', 'no such alert');
    res.json({ items: (await deps.clips.forEvents(alert.events)).filter((l) => l.estate === alert.estate).map(view) });
  });
  return router;
}
