import express, { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id, Ulid } from '../../protocol/index.js';
import { badQueryOf, RbError } from '../errors.js';
import type { GatewayIdentity, Registry } from '../registry.js';
import { sha256Hex, type SnapshotStore } from '../snapshots.js';
import { gatewayAuth } from './auth.js';
import { inScope, principalOf } from './user-auth.js';

const Sha = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in lowercase hex');
const UploadQuery = z
  .object({
    event: Ulid,
    device: Id,
    camera: Id,
    takenAt: z.string().regex(/^\d{1,15}$/).transform(Number),
  })
  .strict();

export interface SnapshotRoutesDeps {
  snapshots: SnapshotStore;
  registry: Registry;
  log: Logger;
  /** User token or RB_API_TOKEN (user-auth.ts); reads are scoped by the estates the snapshot belongs to. */
  auth: RequestHandler;
  maxBytes: number;
}

/**
 * PUT  /api/v1/snapshots/{sha256}?event=&device=&camera=&takenAt=   (gateway, Basic auth; body image/jpeg)
 * GET  /api/v1/snapshots/{sha256}                                    (Bearer user token or API token; scoped)
 * GET  /api/v1/events/{id}/snapshots                                 (Bearer user token or API token; scoped)
 */
export function snapshotRoutes(deps: SnapshotRoutesDeps): Router {
  const router = Router();
  const readToken = deps.auth;

  router.put(
    '/api/v1/snapshots/:sha',
    gatewayAuth(deps.registry),
    express.raw({ type: () => true, limit: deps.maxBytes }),
    async (req, res) => {
      const who = res.locals.gateway as GatewayIdentity;
      const sha = Sha.safeParse(req.params.sha);
      const q = UploadQuery.safeParse(req.query);
      if (!sha.success || !q.success) {
        throw badQueryOf([sha.error, q.error], 'sha256');
      }
      const body = req.body as Buffer;
      if (!Buffer.isBuffer(body) || body.length < 4 || body[0] !== 0xff || body[1] !== 0xd8) {
        throw new RbError('RB_ERR_BAD_SNAPSHOT', 'the body is not a JPEG');
      }
      if (sha256Hex(body) !== sha.data) throw new RbError('RB_ERR_BAD_SNAPSHOT', 'the body does not match its sha256');
      const link = { eventId: q.data.event, sha256: sha.data, estate: who.estate, gateway: who.gateway, device: q.data.device, camera: q.data.camera, takenAt: q.data.takenAt };
      // A new link is committed with its event-log entry and delivered (bus `snapshot`) from the log.
      const added = await deps.snapshots.put(link, body);
      if (added) deps.log.info({ ...link, bytes: body.length }, 'snapshot stored');
      res.status(added ? 201 : 200).json({ sha256: sha.data, event: q.data.event });
    },
  );

  router.get('/api/v1/snapshots/:sha', readToken, async (req, res) => {
    const sha = Sha.safeParse(req.params.sha);
    const p = principalOf(res);
    // Out of scope reads as absent: a 403 would confirm that the picture exists.
    const allowed = sha.success && (p.allEstates || (await deps.snapshots.estatesOf(sha.data)).some((e) => inScope(p, e)));
    const image = sha.success && allowed ? await deps.snapshots.image(sha.data) : undefined;
    if (!image) throw new RbError('RB_ERR_NOT_FOUND', 'no such snapshot');
    res.type('image/jpeg').set('Cache-Control', 'private, max-age=31536000, immutable');
    if (image.file !== undefined) res.sendFile(image.file);
    else res.send(image.bytes);
  });

  router.get('/api/v1/events/:id/snapshots', readToken, async (req, res) => {
    const id = Ulid.safeParse(req.params.id);
    if (!id.success) throw new RbError('RB_ERR_BAD_ID', 'event id must be a ULID');
    const p = principalOf(res);
    res.json({ items: (await deps.snapshots.forEvent(id.data)).filter((l) => inScope(p, l.estate)).map((l) => ({ ...l, url: `/api/v1/snapshots/${l.sha256}` })) });
  });
  return router;
}
