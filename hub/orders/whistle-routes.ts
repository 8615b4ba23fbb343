import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ERRORS } from '../../protocol/errors.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { inScope, principalOf, requireRole, userAuth } from '../api/user-auth.js';
import type { DepartmentConfig } from './deadlines.js';
import type { WorkOrders } from './types.js';
import { WHISTLE_PAGE_CSP, whistlePage, whistleRefusedPage, type WhistleNotice } from './whistle-page.js';
import type { Whistles } from './whistle.js';

/**
 * REST and page routes of whistle and report (docs/work-orders.md):
 *
 * - `POST /api/v1/work-orders/:id/whistles` `{department, note?}` (center, admin): whistle; 201 `{whistle}`;
 * - `GET  /api/v1/work-orders/:id/whistles` (anyone in scope): `{items}`, each with `missed`;
 * - `GET  /api/v1/work-orders/departments` (any user): the departments one can whistle, `{items}` of
 *   `{id, name: {zh, en}, contact}` (whether someone is messaged; never the contact itself);
 * - `GET  /w/:token`, `POST /w/:token` (no account, rate limited per address): the department's page,
 *   a form `action=checkin` or `action=report&report=…`.
 *
 * An order of an estate outside the caller's scope answers 404, as if it did not exist.
 */
export interface WhistleRoutesDeps {
  people: People;
  orders: Pick<WorkOrders, 'get'>;
  whistles: Whistles;
  /** `orders.departments`. */
  departments: readonly DepartmentConfig[];
  timeZone: string;
  /** Requests to /w/ per address per minute. */
  perMinute?: number;
  log: Logger;
  now?: () => number;
}

const WhistleBody = z
  .object({
    department: z.string().min(1).max(64),
    note: z.string().trim().max(2000).optional(),
  })
  .strict();
const PageForm = z.union([
  z.object({ action: z.literal('checkin') }).strict(),
  z.object({ action: z.literal('report'), report: z.string().max(2000) }).strict(),
]);
const MAX_TRACKED = 10_000;

export function whistleRoutes(deps: WhistleRoutesDeps): Router {
  const router = Router();
  const auth = userAuth(deps.people.principals);
  const now = deps.now ?? (() => Date.now());
  const perMinute = deps.perMinute ?? 30;
  const windows = new Map<string, { start: number; count: number }>();

  async function orderInScope(res: Response, id: string) {
    const order = id.length <= 64 ? await deps.orders.get(id) : undefined;
    if (!order || !inScope(principalOf(res), order.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no work order ${id}`);
    return order;
  }

  router.post('/api/v1/work-orders/:id/whistles', auth, express.json({ limit: '8kb' }), async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const order = await orderInScope(res, req.params.id as string);
    const parsed = WhistleBody.safeParse(req.body);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const whistle = await deps.whistles.whistle(order.id, parsed.data, p.kind === 'system' ? { kind: 'system' } : { kind: 'user', id: p.id });
    res.status(201).json({ whistle });
  });

  const departments = deps.departments.map((d) => ({ id: d.id, name: { zh: d.name.zh, en: d.name.en }, contact: d.contact !== undefined }));
  router.get('/api/v1/work-orders/departments', auth, (_req, res) => {
    res.json({ items: departments });
  });

  router.get('/api/v1/work-orders/:id/whistles', auth, async (req, res) => {
    const order = await orderInScope(res, req.params.id as string);
    res.json({ items: await deps.whistles.views(order.id) });
  });

  const limit: RequestHandler = (req, _res, next) => {
    const ip = req.ip ?? req.socket.remoteAddress ?? '';
    const at = now();
    let w = windows.get(ip);
    if (!w || at - w.start >= 60_000) {
      if (!w && windows.size >= MAX_TRACKED) for (const [k, v] of windows) if (at - v.start >= 60_000) windows.delete(k);
      windows.set(ip, (w = { start: at, count: 0 }));
    }
    w.count += 1;
    next(w.count > perMinute ? new RbError('RB_ERR_RATE_LIMITED', 'too many requests to whistle links; try again in a minute') : undefined);
  };

  const show = async (req: Request, res: Response, notice?: WhistleNotice): Promise<void> => {
    const token = req.params.token as string;
    const found = await deps.whistles.byToken(token);
    if (!found) throw new RbError('RB_ERR_NOT_FOUND', 'no such whistle link');
    res
      .status(200)
      .set({ 'Cache-Control': 'no-store', 'Content-Security-Policy': WHISTLE_PAGE_CSP })
      .type('html')
      .send(whistlePage({ ...found.whistle, reportBy: found.reportBy }, found.order, `/w/${encodeURIComponent(token)}`, deps.timeZone, notice));
  };

  router.get('/w/:token', limit, (req, res) => show(req, res));
  router.post('/w/:token', limit, express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const parsed = PageForm.safeParse(req.body);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', 'action must be checkin, or report with a report');
    const token = req.params.token as string;
    let notice: WhistleNotice;
    if (parsed.data.action === 'checkin') notice = await deps.whistles.checkIn(token);
    else if (parsed.data.report.trim() === '') notice = 'empty_report';
    else notice = await deps.whistles.report(token, parsed.data.report.trim());
    await show(req, res, notice);
  });
  // Refusals on /w/ are pages, not JSON: whoever opens the link is on a phone's browser.
  router.use('/w/:token', ((err, _req, res, next) => {
    const type = (err as { type?: string }).type;
    const e = err instanceof RbError ? err : type === 'entity.too.large' ? new RbError('RB_ERR_TOO_LARGE', 'too long') : undefined;
    if (!e) return next(err);
    deps.log.info({ code: e.code }, 'whistle link refused');
    res
      .status(ERRORS[e.code].status)
      .set({ 'Cache-Control': 'no-store', 'Content-Security-Policy': WHISTLE_PAGE_CSP, ...(e.code === 'RB_ERR_RATE_LIMITED' ? { 'Retry-After': '60' } : {}) })
      .type('html')
      .send(whistleRefusedPage(e.code));
  }) as express.ErrorRequestHandler);
  return router;
}
