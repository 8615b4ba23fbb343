import express, { Router } from 'express';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { ROLES, type OnDuty, type RosterPerson } from '../../protocol/api.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { actorOf } from '../people/principals.js';
import { NewException, NewShift } from '../people/roster.js';
import type { Handover } from '../people/handovers.js';
import type { User } from '../people/users.js';
import { parseOr } from './people.js';
import { estatesToRead, principalOf, requireEstate, requireRole, userAuth } from './user-auth.js';

/** Open alerts of an estate (the alert store's; `[]` until it exists). */
export type OpenAlerts = (estate: string) => ReadonlyArray<Record<string, unknown>> | Promise<ReadonlyArray<Record<string, unknown>>>;
/** Where a new hand-over goes live: the estate's rooms (hub/push, `handover:new`). */
export type PushHandover = (estate: string, handover: Handover) => unknown;

export interface RosterRoutesDeps {
  people: People;
  audit: Audit;
  openAlerts?: OpenAlerts;
  pushHandover?: PushHandover;
}

const ListQuery = z.object({ estate: Id.optional(), user: z.string().max(64).optional(), after: z.coerce.number().int().min(0).optional() }).strict();
const EstateQuery = z.object({ estate: Id }).strict();
const HandoverBody = z.object({ estate: Id, note: z.string().trim().min(1, 'a hand-over note is required').max(2000) }).strict();
const onDutyUser = (u: User) => ({ id: u.id, name: u.name, displayName: u.displayName });

/**
 * Duty roster (docs/alerts.md "Roster"); reads for anyone whose scope covers the estate, writes for
 * `center` and `admin` of the estate. Every write is audited.
 *
 * GET|POST /api/v1/roster/shifts        DELETE /api/v1/roster/shifts/:id
 * GET|POST /api/v1/roster/exceptions    DELETE /api/v1/roster/exceptions/:id
 * GET /api/v1/roster/on-duty?estate=E   GET /api/v1/roster/handover?estate=E (with lastHandover)
 * POST /api/v1/roster/handover {estate, note}  (anyone whose scope covers the estate: 交班, pushed live)
 * GET /api/v1/roster/people?estate=E    (center, admin) who covers the estate: names for the roster
 *                                        screen and for assigning an alert (GET /users is admin-only)
 */
export function rosterRoutes(deps: RosterRoutesDeps): Router {
  const { people, audit } = deps;
  const { roster } = people;
  const router = Router();
  router.use('/api/v1/roster', userAuth(people.principals), express.json({ limit: '16kb' }));

  const userFilter = (user: string | undefined): string | undefined => (user === undefined ? undefined : (people.users.find(user)?.id ?? user));

  router.get('/api/v1/roster/shifts', (req, res) => {
    const q = parseOr(ListQuery, req.query, 'RB_ERR_BAD_QUERY');
    const estates = estatesToRead(principalOf(res), q.estate);
    res.json({ timeZone: roster.timeZone, items: roster.listShifts({ estates, user: userFilter(q.user) }) });
  });

  router.post('/api/v1/roster/shifts', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const body = parseOr(NewShift, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(p, body.estate);
    const shift = await roster.addShift(body);
    await audit.record({ actor: actorOf(p), action: 'roster.shift.add', estate: shift.estate, target: `shift:${shift.id}`, detail: { ...shift } });
    res.status(201).json(shift);
  });

  router.delete('/api/v1/roster/shifts/:id', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const shift = roster.listShifts().find((s) => s.id === req.params.id);
    if (!shift) throw new RbError('RB_ERR_NOT_FOUND', `no shift ${req.params.id}`);
    requireEstate(p, shift.estate);
    await roster.removeShift(shift.id);
    await audit.record({ actor: actorOf(p), action: 'roster.shift.remove', estate: shift.estate, target: `shift:${shift.id}`, detail: { ...shift } });
    res.json(shift);
  });

  router.get('/api/v1/roster/exceptions', (req, res) => {
    const q = parseOr(ListQuery, req.query, 'RB_ERR_BAD_QUERY');
    const estates = estatesToRead(principalOf(res), q.estate);
    res.json({ items: roster.listExceptions({ estates, user: userFilter(q.user), after: q.after }) });
  });

  router.post('/api/v1/roster/exceptions', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const body = parseOr(NewException, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(p, body.estate);
    const e = await roster.addException(body);
    await audit.record({ actor: actorOf(p), action: 'roster.exception.add', estate: e.estate, target: `exception:${e.id}`, detail: { ...e } });
    res.status(201).json(e);
  });

  router.delete('/api/v1/roster/exceptions/:id', async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const e = roster.listExceptions().find((x) => x.id === req.params.id);
    if (!e) throw new RbError('RB_ERR_NOT_FOUND', `no roster exception ${req.params.id}`);
    requireEstate(p, e.estate);
    await roster.removeException(e.id);
    await audit.record({ actor: actorOf(p), action: 'roster.exception.remove', estate: e.estate, target: `exception:${e.id}`, detail: { ...e } });
    res.json(e);
  });

  const duty = (estate: string, at: number): OnDuty => {
    const next = roster.nextOnDuty(estate, at);
    return { estate, at, timeZone: roster.timeZone, onDuty: roster.onDuty(estate, at).map(onDutyUser), next: next && { at: next.at, users: next.users.map(onDutyUser) } };
  };

  router.get('/api/v1/roster/on-duty', (req, res) => {
    const { estate } = parseOr(EstateQuery, req.query, 'RB_ERR_BAD_QUERY');
    requireEstate(principalOf(res), estate);
    res.json(duty(estate, Date.now()));
  });

  router.get('/api/v1/roster/people', (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const { estate } = parseOr(EstateQuery, req.query, 'RB_ERR_BAD_QUERY');
    requireEstate(p, estate);
    const items: RosterPerson[] = ROLES.flatMap((role) => roster.covering(role, estate).map((u) => ({ ...onDutyUser(u), role })));
    res.json({ estate, items });
  });

  router.get('/api/v1/roster/handover', async (req, res) => {
    const { estate } = parseOr(EstateQuery, req.query, 'RB_ERR_BAD_QUERY');
    requireEstate(principalOf(res), estate);
    const alerts = [...((await deps.openAlerts?.(estate)) ?? [])].sort((a, b) => Number(a.openedAt ?? 0) - Number(b.openedAt ?? 0));
    res.json({ ...duty(estate, Date.now()), alerts, lastHandover: await people.handovers.last(estate) });
  });

  // 交班: the caller hands the estate over with a note to whoever is on duty now besides them (or,
  // when nobody is, to the next shift), as the roster says at this moment; their phones get it live.
  router.post('/api/v1/roster/handover', async (req, res) => {
    const p = principalOf(res);
    const body = parseOr(HandoverBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(p, body.estate);
    const at = Date.now();
    const others = (users: User[]) => users.filter((u) => p.kind === 'system' || u.id !== p.id).map(onDutyUser);
    let to = others(roster.onDuty(body.estate, at));
    if (to.length === 0) to = others(roster.nextOnDuty(body.estate, at)?.users ?? []);
    const fromName = p.kind === 'system' ? 'system' : (people.users.get(p.id)?.displayName ?? p.name);
    const handover = await people.handovers.add({ estate: body.estate, from: actorOf(p), fromName, note: body.note, at, to });
    await audit.record({ actor: actorOf(p), action: 'roster.handover', estate: body.estate, target: `handover:${handover.id}`, detail: { to: to.map((u) => u.id) } });
    deps.pushHandover?.(body.estate, handover);
    res.status(201).json(handover);
  });

  return router;
}
