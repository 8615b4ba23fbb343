import { Router } from 'express';
import { Id } from '../../protocol/index.js';
import { RbError } from '../errors.js';
import type { StateService } from '../state/index.js';

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
 * No authentication yet, like /api/v1/events (the alerts issue adds it).
 */
export function stateRoutes(state: Pick<StateService, 'summaries' | 'estate' | 'device' | 'has'>): Router {
  const router = Router();
  router.get('/api/v1/state/estates', (_req, res) => {
    res.json({ items: state.summaries() });
  });
  router.get('/api/v1/state/estates/:estate', (req, res) => {
    const estate = id(req.params.estate, 'estate');
    const view = state.estate(estate);
    if (!view) throw new RbError('RB_ERR_NOT_FOUND', `no live state for estate ${estate}`);
    res.json(view);
  });
  router.get('/api/v1/state/estates/:estate/devices/:device', (req, res) => {
    const estate = id(req.params.estate, 'estate');
    const device = id(req.params.device, 'device');
    if (!state.has(estate)) throw new RbError('RB_ERR_NOT_FOUND', `no live state for estate ${estate}`);
    const view = state.device(estate, device);
    if (!view) throw new RbError('RB_ERR_UNKNOWN_DEVICE', `no device ${device} in estate ${estate}`);
    res.json(view);
  });
  return router;
}
