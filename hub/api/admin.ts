import express, { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { RbError } from '../errors.js';
import type { DeadLetters } from '../ingest/dead-letter.js';
import type { Registry } from '../registry.js';
import { inScope, principalOf, requireEstate, roleGuard } from './user-auth.js';

export interface AdminRoutesDeps {
  registry: Registry;
  deadLetters: DeadLetters | undefined;
  /** User token or RB_API_TOKEN (user-auth.ts). */
  auth: RequestHandler;
}

const GatewayBody = z.object({ estate: Id, gateway: Id }).strict();
const GatewayParams = z.object({ estate: Id, gateway: Id });
const DevicesQuery = z.object({ estate: Id.optional() }).strict();
const DeadLettersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    reason: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a reason like malformed-json').optional(),
  })
  .strict();

function parse<T extends z.ZodType>(schema: T, value: unknown, code: 'RB_ERR_BAD_QUERY' | 'RB_ERR_BAD_BODY' | 'RB_ERR_BAD_ID'): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RbError(code, parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/**
 * Registry administration: `admin` users for the estates in their scope, and the hub's API token
 * (Bearer `RB_API_TOKEN`, every estate). Dead letters may hold any estate's data: API token only.
 *
 * GET  /api/v1/admin/gateways                                  list (no secrets)
 * POST /api/v1/admin/gateways {estate, gateway}                provision or re-activate -> credentials
 * POST /api/v1/admin/gateways/{estate}/{gateway}/rotate        new secret -> credentials; old session closed
 * POST /api/v1/admin/gateways/{estate}/{gateway}/revoke        -> {estate, gateway, revokedAt}; session closed
 * GET  /api/v1/admin/devices?estate=                           devices seen in gateway status messages
 * GET  /api/v1/admin/dead-letters?limit=&reason=               newest poison messages first
 */
export function adminRoutes(deps: AdminRoutesDeps): Router {
  const { registry } = deps;
  const router = Router();
  router.use('/api/v1/admin', deps.auth, roleGuard('admin'), express.json({ limit: '16kb' }));

  router.get('/api/v1/admin/gateways', (_req, res) => {
    const who = principalOf(res);
    res.json({ items: registry.listGateways().filter((g) => inScope(who, g.estate)) });
  });

  router.post('/api/v1/admin/gateways', async (req, res) => {
    const body = parse(GatewayBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(principalOf(res), body.estate);
    res.status(201).json(await registry.addGateway(body.estate, body.gateway));
  });

  router.post('/api/v1/admin/gateways/:estate/:gateway/rotate', async (req, res) => {
    const p = parse(GatewayParams, req.params, 'RB_ERR_BAD_ID');
    requireEstate(principalOf(res), p.estate);
    res.json(await registry.rotateGateway(p.estate, p.gateway));
  });

  router.post('/api/v1/admin/gateways/:estate/:gateway/revoke', async (req, res) => {
    const p = parse(GatewayParams, req.params, 'RB_ERR_BAD_ID');
    requireEstate(principalOf(res), p.estate);
    res.json(await registry.revokeGateway(p.estate, p.gateway));
  });

  router.get('/api/v1/admin/devices', (req, res) => {
    const q = parse(DevicesQuery, req.query, 'RB_ERR_BAD_QUERY');
    const who = principalOf(res);
    if (q.estate !== undefined) requireEstate(who, q.estate);
    res.json({ items: registry.listDevices(q).filter((d) => inScope(who, d.estate)) });
  });

  router.get('/api/v1/admin/dead-letters', async (req, res) => {
    if (principalOf(res).kind !== 'system') throw new RbError('RB_ERR_FORBIDDEN', 'dead letters may hold any estate\'s data: the hub API token (RB_API_TOKEN) only');
    const q = parse(DeadLettersQuery, req.query, 'RB_ERR_BAD_QUERY');
    if (!deps.deadLetters) return res.json({ items: [], total: 0 });
    await deps.deadLetters.flush(); // include what arrived this very turn
    res.json({ items: await deps.deadLetters.list(q), total: await deps.deadLetters.count() });
  });

  // A body that is not JSON is the client's mistake, not an internal error.
  const badJson: ErrorRequestHandler = (err, _req, _res, next) => {
    if ((err as { type?: string }).type === 'entity.parse.failed') return next(new RbError('RB_ERR_BAD_BODY', 'the body is not valid JSON'));
    next(err);
  };
  router.use(badJson);
  return router;
}
