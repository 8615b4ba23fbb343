import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { actorOf, type Principal } from '../people/principals.js';
import type { User } from '../people/users.js';
import type { Registry } from '../registry.js';
import type { AddressKind } from '../notify/channel.js';
import type { ContactPoint, ContactStore, GroupRobot } from '../notify/contacts.js';
import { RobotScope } from '../notify/contact-input.js';
import { maskAddress } from '../notify/phone.js';
import type { ContactRoute } from '../notify/types.js';
import { parseOr } from './people.js';
import { inScope, principalOf, requireEstate, requireRole, userAuth } from './user-auth.js';

/** A configured channel as the screens pick it (`notify.channels`: id, plugin, what it sends to); never its secrets. */
export interface ChannelSummary {
  id: string;
  type: string;
  accepts: readonly AddressKind[];
}

/**
 * Queue a "send a test" message to one route through the outbox (its provider, its retries), for
 * a person (`user`) or a group robot (`user` null). Resolves once queued; the outbox row's id if it has one.
 */
export type SendTest = (route: ContactRoute, user: User | null, ctx: { actor: string }) => Promise<{ id?: string } | void>;

export interface ContactRoutesDeps {
  people: People;
  audit: Audit;
  contacts: ContactStore;
  registry: Pick<Registry, 'estatesInScope' | 'listGrids' | 'getEstate'>;
  channels: () => readonly ChannelSummary[];
  sendTest: SendTest;
}

const ScopeQuery = z.object({ scope: RobotScope.optional(), estate: Id.optional() }).strict();

/** Who sees a person's numbers whole: the person, admins and centers (street offices); others see 138****5678. */
const seesNumbers = (p: Principal, userId: string): boolean => p.kind === 'system' || p.role === 'admin' || p.role === 'center' || p.id === userId;
/** Who changes a person's contact points: the person, or an admin or center whose scope shares an estate with them. */
const manages = (p: Principal, user: User): boolean => p.id === user.id || p.kind === 'system' || p.role === 'admin' || p.role === 'center';

/**
 * Contact points, notification policy and group robots (issue 17, item 1); docs/notifications.md.
 *
 * GET    /api/v1/notify/channels                              configured channels {id, type, accepts}
 * GET    /api/v1/users/:id/contacts                           {items, policy} (numbers masked for volunteers and patrols, except their own)
 * POST   /api/v1/users/:id/contacts                           {kind, channelId, address, minSeverity?, fallback?, position?}
 * PUT    /api/v1/users/:id/contacts/:cid                      {channelId?, address?, minSeverity?, fallback?, position?}
 * DELETE /api/v1/users/:id/contacts/:cid
 * POST   /api/v1/users/:id/contacts/:cid/test                 发送测试: queue a test message through the outbox (202)
 * GET|PUT /api/v1/users/:id/contact-policy                    {quietHours: {from, to} | null, lang}
 * GET    /api/v1/notify/robots?scope=estate:E|grid:G | ?estate=E (that estate's and its grid's)
 * POST   /api/v1/notify/robots {scope, channelId, minSeverity?}   PUT|DELETE /api/v1/notify/robots/:id   POST /api/v1/notify/robots/:id/test
 *
 * A person manages their own; an admin or center those of people sharing an estate with them, and
 * the robots of their estates and grids. Every write and test is audited (addresses masked).
 */
export function contactRoutes(deps: ContactRoutesDeps): Router {
  const { people, audit, contacts, registry } = deps;
  const router = Router();
  router.use(['/api/v1/users/:id/contacts', '/api/v1/users/:id/contact-policy', '/api/v1/notify/robots', '/api/v1/notify/channels'], userAuth(people.principals), express.json({ limit: '16kb' }));

  const visible = (p: Principal, u: User): boolean => p.id === u.id || p.allEstates || registry.estatesInScope(u.scopes).some((e) => p.estates.has(e));
  async function person(req: Request, p: Principal, write: boolean): Promise<User> {
    const user = await people.users.fetch(String(req.params.id));
    if (!user || !visible(p, user)) throw new RbError('RB_ERR_UNKNOWN_USER', `no user ${JSON.stringify(String(req.params.id))} in your scope`);
    if (write && !manages(p, user)) throw new RbError('RB_ERR_FORBIDDEN', 'you manage only your own contact points (admins and centers manage everyone in their scope)');
    return user;
  }
  const pointOf = (user: User, cid: string): ContactPoint => {
    const point = contacts.get(cid);
    if (!point || point.userId !== user.id) throw new RbError('RB_ERR_NOT_FOUND', `no contact point ${cid} of this user`);
    return point;
  };
  const typeOf = (channelId: string): string | null => deps.channels().find((c) => c.id === channelId)?.type ?? null;
  const pointView = (p: Principal, c: ContactPoint) => {
    const whole = seesNumbers(p, c.userId);
    return { ...c, channelType: typeOf(c.channelId), address: whole ? c.address : maskAddress(c.kind, c.address), masked: !whole };
  };
  const auditPoint = (c: ContactPoint) => ({ channelId: c.channelId, kind: c.kind, address: maskAddress(c.kind, c.address), minSeverity: c.minSeverity, fallback: c.fallback, position: c.position });

  router.get('/api/v1/notify/channels', (_req, res) => {
    res.json({ items: deps.channels().map((c) => ({ id: c.id, type: c.type, accepts: [...c.accepts] })) });
  });

  router.get('/api/v1/users/:id/contacts', async (req, res) => {
    const p = principalOf(res);
    const user = await person(req, p, false);
    res.json({ user: { id: user.id, name: user.name, displayName: user.displayName }, items: contacts.list(user.id).map((c) => pointView(p, c)), policy: contacts.policy(user.id) });
  });

  router.post('/api/v1/users/:id/contacts', async (req, res) => {
    const p = principalOf(res);
    const user = await person(req, p, true);
    const point = await contacts.add(user.id, req.body ?? {});
    await audit.record({ actor: actorOf(p), action: 'contact.add', target: `user:${user.id}`, detail: { contact: point.id, ...auditPoint(point) } });
    res.status(201).json(pointView(p, point));
  });

  const update = async (req: Request, res: express.Response) => {
    const p = principalOf(res);
    const user = await person(req, p, true);
    const before = pointOf(user, String(req.params.cid));
    const point = await contacts.update(before.id, req.body ?? {});
    await audit.record({ actor: actorOf(p), action: 'contact.update', target: `user:${user.id}`, detail: { contact: point.id, before: auditPoint(before), after: auditPoint(point) } });
    res.json(pointView(p, point));
  };
  router.put('/api/v1/users/:id/contacts/:cid', update);
  router.patch('/api/v1/users/:id/contacts/:cid', update);

  router.delete('/api/v1/users/:id/contacts/:cid', async (req, res) => {
    const p = principalOf(res);
    const user = await person(req, p, true);
    const point = await contacts.remove(pointOf(user, String(req.params.cid)).id);
    await audit.record({ actor: actorOf(p), action: 'contact.remove', target: `user:${user.id}`, detail: { contact: point.id, ...auditPoint(point) } });
    res.json(pointView(p, point));
  });

  router.post('/api/v1/users/:id/contacts/:cid/test', async (req, res) => {
    const p = principalOf(res);
    const user = await person(req, p, true);
    const point = pointOf(user, String(req.params.cid));
    const route: ContactRoute = {
      channelId: point.channelId,
      address: point.kind === 'phone' ? { kind: 'phone', phone: point.address } : { kind: 'wecom-user', userId: point.address },
      lang: contacts.policy(user.id).lang,
      fallback: false,
    };
    const queued = await deps.sendTest(route, user, { actor: actorOf(p) });
    await audit.record({ actor: actorOf(p), action: 'contact.test', target: `user:${user.id}`, detail: { contact: point.id, ...auditPoint(point), ...(queued?.id ? { notification: queued.id } : {}) } });
    res.status(202).json({ queued: true, ...(queued?.id ? { id: queued.id } : {}), channelId: point.channelId, to: maskAddress(point.kind, point.address) });
  });

  router.get('/api/v1/users/:id/contact-policy', async (req, res) => {
    const user = await person(req, principalOf(res), false);
    res.json(contacts.policy(user.id));
  });

  router.put('/api/v1/users/:id/contact-policy', async (req, res) => {
    const p = principalOf(res);
    const user = await person(req, p, true);
    const policy = await contacts.setPolicy(user.id, req.body ?? {});
    await audit.record({ actor: actorOf(p), action: 'contact.policy', target: `user:${user.id}`, detail: { quietHours: policy.quietHours, lang: policy.lang } });
    res.json(policy);
  });

  // Robots: an estate's needs the estate in scope; a grid's needs the grid (or its street, or everything).
  const robotScopeOk = (p: Principal, scope: string): boolean => {
    const [kind, id] = scope.split(':') as ['estate' | 'grid', string];
    if (kind === 'estate') return inScope(p, id);
    if (p.allEstates || p.scopes.includes(scope)) return true;
    const street = registry.listGrids().find((g) => g.id === id)?.street;
    return street != null && p.scopes.includes(`street:${street}`);
  };
  const manageRobot = (p: Principal, scope: string): void => {
    requireRole(p, 'admin', 'center');
    if (!robotScopeOk(p, scope)) throw new RbError('RB_ERR_FORBIDDEN', `${scope} is outside your scope`);
  };
  const robotOf = (id: string): GroupRobot => {
    const r = contacts.robot(id);
    if (!r) throw new RbError('RB_ERR_NOT_FOUND', `no group robot ${id}`);
    return r;
  };
  const robotView = (r: GroupRobot) => ({ ...r, channelType: typeOf(r.channelId) });

  router.get('/api/v1/notify/robots', (req, res) => {
    const p = principalOf(res);
    const q = parseOr(ScopeQuery, req.query, 'RB_ERR_BAD_QUERY');
    let items: GroupRobot[];
    if (q.estate) {
      requireEstate(p, q.estate);
      const grid = registry.getEstate(q.estate)?.grid;
      items = contacts.robots().filter((r) => r.scope === `estate:${q.estate}` || (grid && r.scope === `grid:${grid}`));
    } else items = contacts.robots(q.scope).filter((r) => robotScopeOk(p, r.scope));
    res.json({ items: items.map(robotView) });
  });

  router.post('/api/v1/notify/robots', async (req, res) => {
    const p = principalOf(res);
    const scope = (req.body as { scope?: unknown } | undefined)?.scope;
    manageRobot(p, parseOr(RobotScope, scope, 'RB_ERR_BAD_BODY'));
    const robot = await contacts.addRobot(req.body ?? {});
    await audit.record({ actor: actorOf(p), action: 'robot.add', estate: robot.scope.startsWith('estate:') ? robot.scope.slice(7) : null, target: `robot:${robot.id}`, detail: { ...robot } });
    res.status(201).json(robotView(robot));
  });

  router.put('/api/v1/notify/robots/:id', async (req, res) => {
    const p = principalOf(res);
    const before = robotOf(String(req.params.id));
    manageRobot(p, before.scope);
    const robot = await contacts.updateRobot(before.id, req.body ?? {});
    await audit.record({ actor: actorOf(p), action: 'robot.update', estate: robot.scope.startsWith('estate:') ? robot.scope.slice(7) : null, target: `robot:${robot.id}`, detail: { before: { ...before }, after: { ...robot } } });
    res.json(robotView(robot));
  });

  router.delete('/api/v1/notify/robots/:id', async (req, res) => {
    const p = principalOf(res);
    const before = robotOf(String(req.params.id));
    manageRobot(p, before.scope);
    const robot = await contacts.removeRobot(before.id);
    await audit.record({ actor: actorOf(p), action: 'robot.remove', estate: robot.scope.startsWith('estate:') ? robot.scope.slice(7) : null, target: `robot:${robot.id}`, detail: { ...robot } });
    res.json(robotView(robot));
  });

  router.post('/api/v1/notify/robots/:id/test', async (req, res) => {
    const p = principalOf(res);
    const robot = robotOf(String(req.params.id));
    manageRobot(p, robot.scope);
    const queued = await deps.sendTest({ channelId: robot.channelId, address: { kind: 'group' }, lang: 'zh-CN', fallback: false }, null, { actor: actorOf(p) });
    await audit.record({ actor: actorOf(p), action: 'robot.test', estate: robot.scope.startsWith('estate:') ? robot.scope.slice(7) : null, target: `robot:${robot.id}`, detail: { channelId: robot.channelId, ...(queued?.id ? { notification: queued.id } : {}) } });
    res.status(202).json({ queued: true, ...(queued?.id ? { id: queued.id } : {}), channelId: robot.channelId });
  });

  return router;
}
