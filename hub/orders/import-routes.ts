import express, { Router } from 'express';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { actorOf } from '../people/principals.js';
import type { Registry } from '../registry.js';
import { inScope, principalOf, requireRole, userAuth } from '../api/user-auth.js';
import { csvItems, importOrders, type ImportAnswer, type ImportOutcome } from './import.js';
import type { WorkOrders } from './types.js';

/**
 * `POST /api/v1/work-orders/import` (a JSON array, or `{items: […]}`) and `POST
 * /api/v1/work-orders/import.csv` (`text/csv`), center and admin: 12345 orders in (import.ts). Both
 * answer 200 with each item's outcome, `created` / `existing` / `failed` counts, and are audited.
 */
export interface ImportRoutesDeps {
  people: People;
  registry: Pick<Registry, 'getEstate'>;
  orders: Pick<WorkOrders, 'create'>;
  audit: Pick<Audit, 'record'>;
  timeZone: string;
  /** Largest body, bytes (default 2 MiB). */
  maxBytes?: number;
}

export function importRoutes(deps: ImportRoutesDeps): Router {
  const router = Router();
  const auth = userAuth(deps.people.principals);
  const limit = deps.maxBytes ?? 2 * 1024 * 1024;

  async function run(res: express.Response, raw: Array<{ value: unknown; line?: number }>, pre: ImportOutcome[], format: 'json' | 'csv'): Promise<void> {
    const p = principalOf(res);
    const estateAllowed = (estate: string) => deps.registry.getEstate(estate) !== undefined && inScope(p, estate);
    const answer: ImportAnswer = await importOrders({ orders: deps.orders, estateAllowed, timeZone: deps.timeZone }, raw, { kind: 'user', id: p.id });
    if (pre.length > 0) {
      answer.items = [...answer.items, ...pre].sort((a, b) => (a.line ?? a.index) - (b.line ?? b.index));
      answer.items.forEach((item, i) => (item.index = i));
      answer.failed += pre.length;
    }
    await deps.audit.record({ actor: actorOf(p), action: 'order.import', target: 'work-orders', detail: { format, created: answer.created, existing: answer.existing, failed: answer.failed } });
    res.json(answer);
  }

  router.post('/api/v1/work-orders/import', auth, express.json({ limit }), async (req, res) => {
    requireRole(principalOf(res), 'center', 'admin');
    const body = req.body as unknown;
    const list = Array.isArray(body) ? body : Array.isArray((body as { items?: unknown } | null)?.items) ? (body as { items: unknown[] }).items : undefined;
    if (!list) throw new RbError('RB_ERR_BAD_BODY', 'the body is a JSON array of orders ({externalNo, estate, category, description, …})');
    await run(res, list.map((value) => ({ value })), [], 'json');
  });

  router.post('/api/v1/work-orders/import.csv', auth, express.text({ type: ['text/csv', 'text/plain', 'application/csv'], limit }), async (req, res) => {
    requireRole(principalOf(res), 'center', 'admin');
    if (typeof req.body !== 'string') throw new RbError('RB_ERR_BAD_BODY', 'send the CSV as Content-Type: text/csv; charset=utf-8');
    const rows = csvItems(req.body);
    const good: Array<{ value: unknown; line: number }> = [];
    const bad: ImportOutcome[] = [];
    for (const r of rows) {
      if ('value' in r) good.push(r);
      else bad.push({ index: 0, line: r.line, result: 'error', error: { code: 'RB_ERR_BAD_BODY', message: `line ${r.line}: ${r.error}` } });
    }
    await run(res, good, bad, 'csv');
  });
  return router;
}
