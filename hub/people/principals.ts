import { timingSafeEqual } from 'node:crypto';
import { RbError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { Role } from './scopes.js';
import type { Tokens } from './tokens.js';
import type { User } from './users.js';

/** Who makes a request or holds a socket: a user (token) or the hub's own RB_API_TOKEN (`system`). */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  scopes: string[];
  /** Estates in scope, resolved from the registry at request time (cached a few seconds). */
  estates: Set<string>;
  kind: 'user' | 'system';
  /** True for `system`: every estate, including ones registered after this request. */
  allEstates: boolean;
  /** When the token behind a user principal expires, ms (none for `system`). */
  expiresAt?: number;
}

export interface Principals {
  /** A Bearer token (user JWT or RB_API_TOKEN) → principal; throws RB_ERR_UNAUTHENTICATED. */
  fromToken(token: string | undefined): Promise<Principal>;
  /** The principal of a user (after login or refresh). */
  ofUser(user: User): Principal;
}

export interface PrincipalsDeps {
  tokens: Pick<Tokens, 'verifyWithExpiry'>;
  registry: Pick<Registry, 'estatesInScope' | 'listEstates'>;
  apiToken: string | undefined;
  /** How long resolved scopes are reused (default 2 s): a registry change shows within that. */
  cacheMs?: number;
  now?: () => number;
}

export const actorOf = (p: Pick<Principal, 'kind' | 'id'>): string => (p.kind === 'system' ? 'system' : `user:${p.id}`);

export function createPrincipals(deps: PrincipalsDeps): Principals {
  const cacheMs = deps.cacheMs ?? 2000;
  const now = deps.now ?? (() => Date.now());
  const apiToken = deps.apiToken ? Buffer.from(deps.apiToken) : undefined;
  const cache = new Map<string, { estates: string[]; until: number }>();

  function estatesOf(scopes: readonly string[] | 'all'): Set<string> {
    const key = scopes === 'all' ? '*' : JSON.stringify(scopes);
    const hit = cache.get(key);
    if (hit && hit.until > now()) return new Set(hit.estates);
    const estates = scopes === 'all' ? deps.registry.listEstates().map((e) => e.id) : deps.registry.estatesInScope(scopes);
    if (cache.size >= 1000) cache.clear();
    cache.set(key, { estates, until: now() + cacheMs });
    return new Set(estates);
  }

  const ofUser = (u: User): Principal => ({ id: u.id, name: u.name, role: u.role, scopes: u.scopes, estates: estatesOf(u.scopes), kind: 'user', allEstates: false });

  return {
    ofUser,
    async fromToken(token) {
      if (!token) throw new RbError('RB_ERR_UNAUTHENTICATED', 'a Bearer token is required (log in at POST /api/v1/auth/login)');
      if (apiToken) {
        const given = Buffer.from(token);
        if (given.length === apiToken.length && timingSafeEqual(given, apiToken)) {
          return { id: 'system', name: 'system', role: 'admin', scopes: [], estates: estatesOf('all'), kind: 'system', allEstates: true };
        }
      }
      // A JWT has two dots; anything else is a wrong API token, and says so.
      if (token.split('.').length !== 3) throw new RbError('RB_ERR_UNAUTHENTICATED', 'a valid Bearer token is required');
      const { user, expiresAt } = await deps.tokens.verifyWithExpiry(token);
      return { ...ofUser(user), expiresAt };
    },
  };
}
