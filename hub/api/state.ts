import { Router, type RequestHandler } from 'express';
import { Id } from '../../protocol/index.js';
import { RbError } from '../errors.js';
import type { StateService } from '../state/index.js';
import { emptyEstateView } from '../state/views.js';
import { inScope, principalOf, requireEstate } from './user-auth.js';

function id(value: unknown, what: string): string {
  const parsed = Id.safeParse(value);
  if (!parsed.success) throw new RbError('RB_ERR_BAD_ID', `${what} id must match [a-z0-9-]{1,64}`);
  return parsed.data;
}

/**
 * Live state (hub/state), read-only:
 * GET /api/v1/state/estates                              summary per estate
 * GET /api/v1/state/estates/{estate}                     everything about one estate
 * GET /api/v1/state/estates/{estate}/devices/{device}    one device, its doors, lanes, camera
 * Each takes a user token or RB_API_TOKEN (`auth`); the list holds only estates in scope, an estate
 * outside it is 403 (checked before "no live state", so a 404 does not tell what exists elsewhere).
 */
export function stateRoutes(
  state: Pick<StateService, 'summaries' | 'estate' | 'device' | 'has'>,
  auth: RequestHandler,
  /** Estates in the registry: one that never reported reads as empty (200), not as missing. */
  known: (estate: string) => boolean = () => false,
): Router {
  const router = Router();
  router.use('/api/v1/state', auth);
  router.get('/api/v1/state/estates', (_req, res) => {
    const p = principalOf(res);
    res.json({ items: state.summaries().filter((s) => inScope(p, s.estate)) });
  });
  router.get('/api/v1/state/estates/:estate', (req, res) => {
    const estate = id(req.params.estate, 'estate');
    requireEstate(principalOf(res), estate);
    const view = state.estate(estate) ?? (known(estate) ? emptyEstateView(estate) : undefined);
    if (!view) throw new RbError('RB_ERR_NOT_FOUND', `no live state for estate ${estate}`);
    res.json(view);
  });
  router.get('/api/v1/state/estates/:estate/devices/:device', (req, res) => {
    const estate = id(req.params.estate, 'estate');
    const device = id(req.params.device, 'device');
    requireEstate(principalOf(res), estate);
    if (!state.has(estate)) throw new RbError('RB_ERR_NOT_FOUND', `no live state for estate ${estate}`);
    const view = state.device(estate, device);
    if (!view) throw new RbError('RB_ERR_UNKNOWN_DEVICE', `no device ${device} in estate ${estate}`);
    res.json(view);
  });
  return router;
}
