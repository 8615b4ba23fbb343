import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import type { PatrolCheckpointView } from '../../protocol/patrol.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { actorOf, type Principal } from '../people/principals.js';
import { parseOr } from '../api/people.js';
import { estatesToRead, inScope, principalOf, requireEstate, requireRole, userAuth } from '../api/user-auth.js';
import type { Registry } from '../registry.js';
import { localDay } from './schedule.js';
import { checkpointUrl, qrPng, qrSheetPdf } from './qr.js';
import type { Patrol } from './service.js';

/**
 * REST of patrol rounds (docs/work-orders.md "Patrol rounds"). Checkpoints and rounds: read by
 * anyone in scope, written by center and admin of the estate (audited); the QR codes (PNG, an A4
 * sheet as PDF) for center and admin. Scans by anyone in scope; runs and a person's history for
 * anyone in scope. An id or a code of another estate answers 404.
 *
 * GET|POST /api/v1/patrol/checkpoints     PUT|DELETE /api/v1/patrol/checkpoints/:id
 * GET /api/v1/patrol/checkpoints/:id/qr.png   GET /api/v1/patrol/sheet.pdf?estate=E
 * GET|POST /api/v1/patrol/rounds          PUT|DELETE /api/v1/patrol/rounds/:id
 * GET /api/v1/patrol/runs?estate&from&to&round (default: today, local)
 * GET /api/v1/patrol/history?user&estate&before&limit (default: my own; user=* everyone's in scope)
 * POST /api/v1/patrol/scan {code}
 * GET /p/:code → the phone view's patrol tab with the code (what the printed QR opens)
 */
export interface PatrolRoutesDeps {
  patrol: Patrol;
  people: People;
  audit: Audit;
  registry: Pick<Registry, 'getEstate'>;
  /** notify.publicUrl: what the QR codes carry; unset: the address the request came to. */
  publicUrl?: string | undefined;
}

const Text = (max: number) => z.string().trim().min(1).max(max);
const Hm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a local time "HH:MM"' });
const Code = z.string().trim().toUpperCase().regex(/^[0-9A-HJKMNP-TV-Z]{12}$/, { message: 'must be a checkpoint code (12 letters and digits)' });
const NewCheckpoint = z.object({ estate: Id, name: Text(100), location: z.string().trim().max(300).default('') }).strict();
const CheckpointPatch = z.object({ name: Text(100).optional(), location: z.string().trim().max(300).optional(), newCode: z.boolean().optional() }).strict();
const RoundBody = z
  .object({
    name: Text(100),
    points: z.array(z.object({ checkpoint: Id, dueMinutes: z.number().min(0).max(1440).optional() }).strict()).min(1).max(100),
    starts: z.array(Hm).min(1).max(48),
    windowMinutes: z.number().int().min(1).max(1440),
    enabled: z.boolean().default(true),
  })
  .strict()
  .refine((r) => new Set(r.points.map((p) => p.checkpoint)).size === r.points.length, { message: 'a checkpoint is in the round once', path: ['points'] });
const NewRound = RoundBody.and(z.object({ estate: Id }));
const EstateQuery = z.object({ estate: Id.optional() }).strict();
const RunsQuery = z.object({ estate: Id.optional(), round: z.string().max(64).optional(), from: z.coerce.number().int().min(0).optional(), to: z.coerce.number().int().min(0).optional() }).strict();
const HistoryQuery = z.object({ estate: Id.optional(), user: z.string().max(64).optional(), before: z.coerce.number().int().min(0).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }).strict();

export function patrolRoutes(deps: PatrolRoutesDeps): Router {
  const { patrol, people, audit } = deps;
  const { store } = patrol;
  const router = Router();
  router.use('/api/v1/patrol', userAuth(people.principals), express.json({ limit: '16kb' }));
  const manager = (p: Principal): boolean => p.role === 'center' || p.role === 'admin';
  const baseOf = (req: Request): string => deps.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const view = (p: Principal, c: Required<PatrolCheckpointView>): PatrolCheckpointView => (manager(p) ? c : { ...c, code: undefined });
  /** The checkpoint, or 404 when it does not exist or is outside the caller's scope. */
  async function checkpointFor(p: Principal, id: string) {
    const c = await store.checkpoint(id);
    if (!c || !inScope(p, c.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no checkpoint ${id}`);
    return c;
  }
  async function roundFor(p: Principal, id: string) {
    const r = await store.round(id);
    if (!r || !inScope(p, r.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no round ${id}`);
    return r;
  }
  const record = (p: Principal, action: string, estate: string, target: string, detail: Record<string, unknown>) => audit.record({ actor: actorOf(p), action, estate, target, detail });

  router.get('/api/v1/patrol/checkpoints', async (req, res) => {
    const p = principalOf(res);
    const q = parseOr(EstateQuery, req.query, 'RB_ERR_BAD_QUERY');
    res.json({ items: (await store.listCheckpoints(estatesToRead(p, q.estate))).map((c) => view(p, c)) });
  });
  router.post('/api/v1/patrol/checkpoints', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const body = parseOr(NewCheckpoint, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(p, body.estate);
    const c = await store.addCheckpoint(body, patrol.now());
    await record(p, 'patrol.checkpoint.add', c.estate, `checkpoint:${c.id}`, { name: c.name, location: c.location });
    res.status(201).json(c);
  });
  router.put('/api/v1/patrol/checkpoints/:id', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const c = await checkpointFor(p, req.params.id);
    const body = parseOr(CheckpointPatch, req.body ?? {}, 'RB_ERR_BAD_BODY');
    const next = await store.updateCheckpoint(c.id, body, patrol.now());
    await record(p, 'patrol.checkpoint.update', c.estate, `checkpoint:${c.id}`, { name: body.name, location: body.location, newCode: body.newCode === true });
    res.json(next);
  });
  router.delete('/api/v1/patrol/checkpoints/:id', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const c = await checkpointFor(p, req.params.id);
    await store.removeCheckpoint(c.id);
    await record(p, 'patrol.checkpoint.remove', c.estate, `checkpoint:${c.id}`, { name: c.name });
    res.json(c);
  });
  router.get('/api/v1/patrol/checkpoints/:id/qr.png', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const c = await checkpointFor(p, req.params.id);
    res.type('image/png').set('Cache-Control', 'private, no-store').send(await qrPng(checkpointUrl(baseOf(req), c.code)));
  });
  router.get('/api/v1/patrol/sheet.pdf', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const { estate } = parseOr(z.object({ estate: Id }).strict(), req.query, 'RB_ERR_BAD_QUERY');
    requireEstate(p, estate);
    const items = (await store.listCheckpoints([estate])).map((c) => ({ name: c.name, location: c.location, code: c.code, url: checkpointUrl(baseOf(req), c.code) }));
    const name = deps.registry.getEstate(estate)?.name ?? estate;
    const printed = new Date(patrol.now()).toLocaleString('zh-CN', { timeZone: patrol.options.timeZone, hour12: false });
    const pdf = await qrSheetPdf(`${name} · 巡更点`, items, `打印于 ${printed} · ${items.length} 个巡更点`);
    res.type('application/pdf').set('Content-Disposition', `inline; filename="patrol-${estate}.pdf"`).set('Cache-Control', 'private, no-store').send(pdf);
  });

  router.get('/api/v1/patrol/rounds', async (req, res) => {
    const q = parseOr(EstateQuery, req.query, 'RB_ERR_BAD_QUERY');
    res.json({ timeZone: patrol.options.timeZone, items: await store.listRounds(estatesToRead(principalOf(res), q.estate)) });
  });
  router.post('/api/v1/patrol/rounds', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const body = parseOr(NewRound, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(p, body.estate);
    const round = await store.addRound(body, patrol.now());
    await record(p, 'patrol.round.add', round.estate, `round:${round.id}`, { name: round.name, starts: round.starts, points: round.points.length });
    await patrol.plan([round]);
    res.status(201).json(round);
  });
  router.put('/api/v1/patrol/rounds/:id', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const r = await roundFor(p, req.params.id);
    const body = parseOr(RoundBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    const round = await store.updateRound(r.id, body, r.estate, patrol.now());
    await record(p, 'patrol.round.update', r.estate, `round:${r.id}`, { name: round.name, starts: round.starts, points: round.points.length, enabled: round.enabled });
    await patrol.plan([round]);
    res.json(round);
  });
  router.delete('/api/v1/patrol/rounds/:id', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const r = await roundFor(p, req.params.id);
    await store.removeRound(r.id, patrol.now());
    await record(p, 'patrol.round.remove', r.estate, `round:${r.id}`, { name: r.name });
    res.json(r);
  });

  router.get('/api/v1/patrol/runs', async (req, res) => {
    const q = parseOr(RunsQuery, req.query, 'RB_ERR_BAD_QUERY');
    const now = patrol.now();
    const day = localDay(now, patrol.options.timeZone);
    const estates = estatesToRead(principalOf(res), q.estate);
    // Before a list, the runs due by now exist even if the schedule has not looked yet.
    await patrol.plan(await store.listRounds(estates));
    res.json({ at: now, timeZone: patrol.options.timeZone, items: await store.runs(estates, q.from ?? day.start, q.to ?? day.end, now, q.round) });
  });
  router.get('/api/v1/patrol/history', async (req, res) => {
    const p = principalOf(res);
    const q = parseOr(HistoryQuery, req.query, 'RB_ERR_BAD_QUERY');
    // Default: my own; `user=*`: everyone's in scope.
    const user = q.user === '*' ? undefined : (q.user ?? (p.kind === 'user' ? p.id : undefined));
    res.json({ user: user ?? null, items: await store.history({ estates: estatesToRead(p, q.estate), user, before: q.before, limit: q.limit }) });
  });
  router.post('/api/v1/patrol/scan', async (req, res) => {
    const p = principalOf(res);
    const { code } = parseOr(z.object({ code: Code }).strict(), req.body ?? {}, 'RB_ERR_BAD_BODY');
    const name = p.kind === 'system' ? 'system' : (people.users.get(p.id)?.displayName ?? p.name);
    res.json(await patrol.scan(code, { id: p.kind === 'system' ? 'system' : p.id, name }, (estate) => inScope(p, estate)));
  });

  // What the printed QR code opens in a phone's own camera app: the phone view's patrol tab, which
  // scans the code (after a sign-in if needed). A malformed code goes to the tab without one.
  router.get('/p/:code', (req, res) => {
    const code = Code.safeParse(req.params.code);
    res.redirect(302, code.success ? `/me?tab=patrol&code=${code.data}` : '/me?tab=patrol');
  });
  return router;
}
