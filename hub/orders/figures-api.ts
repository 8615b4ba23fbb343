import { Router } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import type { OrderFigures } from '../../protocol/work-orders.js';
import { parseOr } from '../api/people.js';
import { inScope, principalOf, requireEstate, requireRole, userAuth } from '../api/user-auth.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import type { Schema } from '../platform/db/schema.js';
import type { Registry } from '../registry.js';
import { monthStart, orderFigures, type DeadlineFor } from './figures.js';
import { whistleFiguresByEstate } from './figures-whistles.js';

export interface FiguresRoutesDeps {
  db: Kysely<Schema>;
  people: Pick<People, 'principals'>;
  registry: Pick<Registry, 'listEstates' | 'listStreets'>;
  timeZone: string;
  /** The configured deadlines (orders.deadlines): an order resolved past its last tier's deadline missed it. */
  deadlineFor?: DeadlineFor;
  now?: () => number;
}

const Query = z
  .object({
    estate: Id.optional(),
    street: Id.optional(),
    from: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    to: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

/**
 * GET /api/v1/work-orders/figures?estate&street&from&to (center, admin): the figures of each estate in
 * scope (one estate with `estate`, the street's estates in scope with `street`) and of them all
 * together. Default range: the last 12 local months up to now. An estate out of scope is 403; a
 * street with no estate in scope too. Mount it before the routes of `/work-orders/:id`.
 */
export function figuresRoutes(deps: FiguresRoutesDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;
  router.get('/api/v1/work-orders/figures', userAuth(deps.people.principals), async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const q = parseOr(Query, req.query, 'RB_ERR_BAD_QUERY');
    const to = q.to ?? now();
    const from = q.from ?? monthStart(to, deps.timeZone, 11);
    if (to <= from) throw new RbError('RB_ERR_BAD_QUERY', 'to: must be after from');
    const all = deps.registry.listEstates();
    let estates = all.filter((e) => inScope(p, e.id));
    let street: OrderFigures['street'];
    if (q.street !== undefined) {
      const known = deps.registry.listStreets().find((s) => s.id === q.street);
      estates = estates.filter((e) => e.street === q.street);
      // An unknown street and one with no estate of yours read alike.
      if (!known || estates.length === 0) throw new RbError('RB_ERR_FORBIDDEN', `street ${q.street} has no estate in your scope`);
      street = { id: known.id, name: known.name };
    }
    if (q.estate !== undefined) {
      requireEstate(p, q.estate);
      estates = estates.filter((e) => e.id === q.estate);
      if (estates.length === 0 && q.street === undefined) estates = [{ id: q.estate, street: null, grid: null, name: null }];
    }
    const ids = estates.map((e) => e.id);
    const figures = await orderFigures(deps.db, { estates: ids, from, to, timeZone: deps.timeZone, ...(deps.deadlineFor ? { deadlineFor: deps.deadlineFor } : {}) });
    const whistles = await whistleFiguresByEstate(deps.db, { estates: ids, from, to, now: now() });
    const body: OrderFigures = {
      from,
      to,
      timeZone: deps.timeZone,
      ...(street ? { street } : {}),
      total: { ...figures.total, whistles: whistles.total },
      estates: estates.map((e) => ({ estate: e.id, name: e.name, ...figures.estates.get(e.id)!, whistles: whistles.estates.get(e.id)! })),
    };
    res.json(body);
  });
  return router;
}
