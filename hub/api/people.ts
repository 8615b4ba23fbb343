import express, { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import type { AdminUser, LoginResponse, Me } from '../../protocol/api.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { createLoginLimiter, type LoginLimiter } from '../people/login-limit.js';
import { actorOf, type Principal } from '../people/principals.js';
import { parseScope } from '../people/scopes.js';
import { NewUser, Password, type User } from '../people/users.js';
import type { Registry } from '../registry.js';
import { bearer, estatesToRead, inScope, principalOf, requireRole, userAuth } from './user-auth.js';

export interface PeopleRoutesDeps {
  people: People;
  audit: Audit;
  registry: Pick<Registry, 'getEstate' | 'listGrids' | 'estatesInScope'>;
  log: Logger;
  limiter?: LoginLimiter;
}

const LoginBody = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(200) }).strict();
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(200) }).strict();
const PasswordBody = z.object({ password: Password }).strict();
const AuditQuery = z
  .object({
    estate: Id.optional(),
    actor: z.string().max(100).optional(),
    action: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, 'an action like auth.login').optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict();
// Only what a user may see of another user: no hash, no token version.
export const publicUser = (u: User): AdminUser => ({ id: u.id, name: u.name, displayName: u.displayName, role: u.role, scopes: u.scopes, disabled: u.disabled, createdAt: u.createdAt });

export function parseOr<T extends z.ZodType>(schema: T, value: unknown, code: 'RB_ERR_BAD_QUERY' | 'RB_ERR_BAD_BODY'): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RbError(code, parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * POST /api/v1/auth/login {name, password}       -> {token, expiresAt, refreshToken, refreshExpiresAt, user}   (failed tries limited per name + ip)
 * POST /api/v1/auth/refresh {refreshToken}        -> {token, expiresAt, refreshToken, refreshExpiresAt, user}  (rotates; no Authorization)
 * POST /api/v1/auth/refresh  (Bearer access token) -> {token, expiresAt, user}
 * POST /api/v1/auth/logout {refreshToken}         -> {revoked}
 * GET  /api/v1/me                                 -> {user, estates: [{id, name, grid, street}]}
 * GET  /api/v1/users            POST /api/v1/users {name, displayName?, role, scopes, password?}
 * POST /api/v1/users/:id/password {password}      POST /api/v1/users/:id/disable      (admin, scoped)
 * GET  /api/v1/audit?estate=&actor=&action=&limit=&before=                            (center, admin; scoped)
 */
export function peopleRoutes(deps: PeopleRoutesDeps): Router {
  const { people, audit, registry } = deps;
  const router = Router();
  const auth = userAuth(people.principals);
  const limiter = deps.limiter ?? createLoginLimiter();
  const json = express.json({ limit: '16kb' });

  router.post('/api/v1/auth/login', json, async (req, res) => {
    const body = parseOr(LoginBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    // req.ip: the TCP peer, or the client a trusted proxy names in X-Forwarded-For (http.trustProxy).
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = limiter.retryAfter(body.name, ip);
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1000)));
      throw new RbError('RB_ERR_RATE_LIMITED', `too many failed logins for ${body.name} from this address; try again in ${Math.ceil(wait / 1000)} s`);
    }
    const user = await people.users.checkPassword(body.name, body.password);
    if (!user) {
      limiter.failed(body.name, ip);
      await audit.record({ actor: 'anonymous', action: 'auth.login.failed', target: `name:${body.name}`, detail: { ip } });
      throw new RbError('RB_ERR_UNAUTHENTICATED', 'wrong name or password');
    }
    limiter.succeeded(body.name, ip);
    await audit.record({ actor: `user:${user.id}`, action: 'auth.login', target: `user:${user.id}`, detail: { ip } });
    res.json({ ...(await people.tokens.issue(user)), ...(await people.refresh.issue(user)), user: publicUser(user) } satisfies LoginResponse);
  });

  // Either a refresh token in the body (a phone coming back after its access token expired: no
  // Authorization needed, the token rotates) or, as before, a valid access token as Bearer.
  router.post('/api/v1/auth/refresh', json, async (req, res) => {
    const hasBody = req.body && typeof req.body === 'object' && Object.keys(req.body as object).length > 0;
    if (hasBody) {
      const body = parseOr(RefreshBody, req.body, 'RB_ERR_BAD_BODY');
      const { user, refreshToken, refreshExpiresAt } = await people.refresh.rotate(body.refreshToken);
      res.json({ ...(await people.tokens.issue(user)), refreshToken, refreshExpiresAt, user: publicUser(user) } satisfies LoginResponse);
      return;
    }
    const p = await people.principals.fromToken(bearer(req.headers.authorization));
    if (p.kind === 'system') throw new RbError('RB_ERR_FORBIDDEN', 'the hub API token is not refreshed; it does not expire');
    const user = people.users.get(p.id)!;
    res.json({ ...(await people.tokens.issue(user)), user: publicUser(user) } satisfies LoginResponse);
  });

  // Sign this login out: its refresh token (and every earlier one of the same login) is revoked.
  // Idempotent; an unknown token answers revoked: false. The access token runs out by itself.
  router.post('/api/v1/auth/logout', json, async (req, res) => {
    const body = parseOr(RefreshBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    const r = await people.refresh.revoke(body.refreshToken);
    if (r.user) await audit.record({ actor: `user:${r.user}`, action: 'auth.logout', target: `user:${r.user}` });
    res.json({ revoked: r.revoked });
  });

  router.get('/api/v1/me', auth, (_req, res) => {
    const p = principalOf(res);
    const user = p.kind === 'system' ? { id: 'system', name: 'system', displayName: null, role: p.role, scopes: ['*'], kind: 'system' as const } : { ...publicUser(people.users.get(p.id)!), kind: 'user' as const };
    const estates = [...p.estates].sort().map((id) => {
      const e = registry.getEstate(id);
      return { id, name: e?.name ?? null, grid: e?.grid ?? null, street: e?.street ?? null };
    });
    res.json({ user, estates } satisfies Me);
  });

  /** A scoped admin sees a user who shares at least one estate with it. */
  const visible = (p: Principal, u: User): boolean => p.allEstates || registry.estatesInScope(u.scopes).some((e) => p.estates.has(e));
  /** A scoped admin grants only what it holds: its own scopes, estates in scope, grids of its streets. */
  const grantable = (p: Principal, scope: string): boolean => {
    if (p.allEstates || p.scopes.includes(scope)) return true;
    const { kind, id } = parseScope(scope);
    if (kind === 'estate') return inScope(p, id);
    if (kind === 'grid') {
      const grid = registry.listGrids().find((g) => g.id === id);
      return grid?.street != null && p.scopes.includes(`street:${grid.street}`);
    }
    return false;
  };
  // Read from the database, not the in-memory copy: a user the CLI added a moment ago is there.
  const mustSee = async (p: Principal, idOrName: string): Promise<User> => {
    const user = await people.users.fetch(idOrName);
    if (!user || !visible(p, user)) throw new RbError('RB_ERR_UNKNOWN_USER', `no user ${JSON.stringify(idOrName)} in your scope`);
    return user;
  };

  router.get('/api/v1/users', auth, async (_req, res) => {
    const p = principalOf(res);
    requireRole(p, 'admin');
    // Rare and admin-only: read the table again, so users the CLI added a moment ago are listed.
    await people.users.reload();
    res.json({ items: people.users.list().filter((u) => visible(p, u)).map(publicUser) });
  });

  router.post('/api/v1/users', auth, json, async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'admin');
    const body = parseOr(NewUser, req.body ?? {}, 'RB_ERR_BAD_BODY');
    const outside = body.scopes.filter((s) => !grantable(p, s));
    if (outside.length > 0) throw new RbError('RB_ERR_FORBIDDEN', `you cannot grant ${outside.join(', ')}: outside your scope`);
    const user = await people.users.add(body);
    await audit.record({ actor: actorOf(p), action: 'user.add', target: `user:${user.id}`, detail: { name: user.name, role: user.role, scopes: user.scopes } });
    res.status(201).json({ user: publicUser(user), ...(await people.tokens.issue(user)) });
  });

  router.post('/api/v1/users/:id/password', auth, json, async (req, res) => {
    const p = principalOf(res);
    const body = parseOr(PasswordBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    // Anyone may change their own password; an admin those of users in its scope.
    const target = p.kind === 'user' && (req.params.id === p.id || req.params.id === p.name) ? people.users.get(p.id)! : (requireRole(p, 'admin'), await mustSee(p, String(req.params.id)));
    const user = await people.users.setPassword(target.id, body.password);
    await audit.record({ actor: actorOf(p), action: 'user.passwd', target: `user:${user.id}` });
    // Every session of the user is signed out (tokens, refresh tokens, sockets). Whoever changed their
    // own password gets a new session at once, so the phone in their hand stays signed in.
    const own = p.kind === 'user' && p.id === user.id;
    res.json({ user: publicUser(user), ...(own ? { ...(await people.tokens.issue(user)), ...(await people.refresh.issue(user)) } : {}) });
  });

  router.post('/api/v1/users/:id/disable', auth, async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'admin');
    const user = await people.users.disable((await mustSee(p, String(req.params.id))).id);
    await audit.record({ actor: actorOf(p), action: 'user.disable', target: `user:${user.id}` });
    res.json({ user: publicUser(user) });
  });

  router.get('/api/v1/audit', auth, async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const q = parseOr(AuditQuery, req.query, 'RB_ERR_BAD_QUERY');
    const estates = estatesToRead(p, q.estate);
    res.json(await audit.query({ ...q, estates }));
  });

  return router;
}
