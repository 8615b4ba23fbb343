import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { RbError } from '../errors.js';
import type { User, Users } from './users.js';
import { parseDuration } from '../../lib/duration.js';

export const ISSUER = 'red-butler';

export { parseDuration };

export interface TokenClaims {
  sub: string;
  name: string;
  role: User['role'];
  scopes: string[];
  ver: number;
  iat: number;
  exp: number;
  iss: string;
}

export interface IssuedToken {
  token: string;
  /** ms since epoch */
  expiresAt: number;
}

export interface Tokens {
  /** Sign a token for `user`, valid for `ttlMs` (default: the configured TTL). */
  issue(user: User, ttlMs?: number): Promise<IssuedToken>;
  /**
   * The current user behind a token: signature, `exp` and `iss` checked, the user must exist, be
   * enabled and have the token's `ver`. Throws RB_ERR_UNAUTHENTICATED with the reason otherwise.
   */
  verify(token: string): Promise<User>;
  /** verify(), plus the token's expiry (ms), e.g. to close a socket when its token runs out. */
  verifyWithExpiry(token: string): Promise<{ user: User; expiresAt: number }>;
  readonly ttlMs: number;
}

export interface TokensDeps {
  /** The signing key (hub/people/signing-key.ts), read once, on first use. */
  key: () => Promise<Uint8Array>;
  /** The token check reads the user fresh (`fetch`), so a revocation by another process counts at once. */
  users: Pick<Users, 'fetch'>;
  /** Default lifetime, e.g. `1h` (hub config tokenTtl). */
  ttl: string;
  now?: () => number;
}

export function createTokens(deps: TokensDeps): Tokens {
  let keyOnce: Promise<Uint8Array> | undefined;
  const key = (): Promise<Uint8Array> => (keyOnce ??= deps.key().catch((err: unknown) => {
    keyOnce = undefined;
    throw err;
  }));
  const ttlMs = parseDuration(deps.ttl);
  const now = deps.now ?? (() => Date.now());
  const refuse = (why: string): never => {
    throw new RbError('RB_ERR_UNAUTHENTICATED', why);
  };

  return {
    ttlMs,
    async issue(user, ttl = ttlMs) {
      const iat = Math.floor(now() / 1000);
      const exp = iat + Math.max(1, Math.round(ttl / 1000));
      const token = await new SignJWT({ name: user.name, role: user.role, scopes: user.scopes, ver: user.tokenVersion })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(await key());
      return { token, expiresAt: exp * 1000 };
    },
    async verify(token) {
      return (await this.verifyWithExpiry(token)).user;
    },
    async verifyWithExpiry(token) {
      if (token.length > 8192) refuse('the token is too long');
      let claims: Partial<TokenClaims>;
      try {
        // algorithms pinned: a token that says alg "none" or RS256 is refused, not interpreted.
        ({ payload: claims } = await jwtVerify<TokenClaims>(token, await key(), { issuer: ISSUER, algorithms: ['HS256'], currentDate: new Date(now()) }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) refuse('the token has expired; log in again');
        if (err instanceof joseErrors.JWTClaimValidationFailed) refuse(`the token is not valid here (${err.claim})`);
        refuse('the token is not valid (bad signature or format)');
        throw err; // unreachable: refuse throws
      }
      if (typeof claims.sub !== 'string' || typeof claims.ver !== 'number' || typeof claims.exp !== 'number') refuse('the token lacks sub, ver or exp');
      const user = await deps.users.fetch(claims.sub!);
      if (!user || user.id !== claims.sub) return refuse('the token names a user that does not exist');
      if (user.disabled) refuse('the user is disabled');
      if (user.tokenVersion !== claims.ver) refuse('the token was issued before a password change or a disable; log in again');
      return { user, expiresAt: claims.exp! * 1000 };
    },
  };
}
