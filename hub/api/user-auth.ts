import type { RequestHandler, Response } from 'express';
import { RbError } from '../errors.js';
import type { Principal, Principals } from '../people/principals.js';
import type { Role } from '../people/scopes.js';

export type { Principal } from '../people/principals.js';

/** The Bearer token of a request, if any. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer (\S{1,8192})$/.exec(header ?? '');
  return m?.[1];
}

/**
 * REST authentication: `Authorization: Bearer <user JWT | RB_API_TOKEN>` → `res.locals.principal`.
 * Missing, expired, forged or revoked → 401 RB_ERR_UNAUTHENTICATED.
 */
export function userAuth(principals: Principals): RequestHandler {
  return (req, res, next) => {
    principals
      .fromToken(bearer(req.headers.authorization))
      .then((p) => {
        res.locals.principal = p;
        next();
      })
      .catch(next);
  };
}

/** For Socket.IO `io.use`: `(token) => principal`, throwing RbError (401 code) when refused. */
export function socketTokenVerifier(principals: Principals): (token: unknown) => Promise<Principal> {
  return (token) => principals.fromToken(typeof token === 'string' ? token : undefined);
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new RbError('RB_ERR_UNAUTHENTICATED', 'a Bearer token is required');
  return p;
}

export function inScope(p: Principal, estate: string): boolean {
  return p.allEstates || p.estates.has(estate);
}

/** 403 RB_ERR_FORBIDDEN unless `estate` is in the principal's scope. */
export function requireEstate(p: Principal, estate: string): void {
  if (!inScope(p, estate)) throw new RbError('RB_ERR_FORBIDDEN', `estate ${estate} is outside your scope`);
}

/** 403 RB_ERR_FORBIDDEN unless the principal has one of `roles` (`system` is an admin). */
export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) throw new RbError('RB_ERR_FORBIDDEN', `this needs the role ${roles.join(' or ')}; you are ${p.role}`);
}

/** Middleware form of requireRole, after userAuth. */
export function roleGuard(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    requireRole(principalOf(res), ...roles);
    next();
  };
}

/**
 * The estates a read covers: the one asked for (refused when out of scope), else every estate in
 * scope; `undefined` means "no filter" (system, nothing asked).
 */
export function estatesToRead(p: Principal, asked: string | undefined): string[] | undefined {
  if (asked !== undefined) {
    requireEstate(p, asked);
    return [asked];
  }
  return p.allEstates ? undefined : [...p.estates].sort();
}
