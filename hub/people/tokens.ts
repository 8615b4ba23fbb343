import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { RbError } from '../errors.js';
import type { User, Users } from './users.js';

export const ISSUER = 'red-butler';
const KEY_BYTES = 32;

/** `30s`, `15m`, `1h`, `12h`, `7d` → milliseconds; throws on anything else (the message names the value). */
export function parseDuration(text: string): number {
  const m = /^([1-9]\d{0,5})([smhd])$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration such as 30m, 1h, 12h or 7d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * The HS256 key in `{dataDir}/jwt.key`, shared by the CLI (`hub user add` prints a token) and the hub.
 * Created 0600 on first use: written to a private temp file, then hard-linked into place, so two
 * processes racing to create it both end up with the one that won and nobody reads half a key.
 */
export function loadSigningKey(dataDir: string): Uint8Array {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'jwt.key');
  const read = (): Uint8Array => {
    const key = readFileSync(path);
    if (key.length !== KEY_BYTES) throw new Error(`${path} must hold ${KEY_BYTES} bytes; it holds ${key.length} (delete it to make a new one; every token becomes invalid)`);
    return new Uint8Array(key);
  };
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return read();
}

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
  dataDir: string;
  /** The token check reads the user fresh (`fetch`), so a revocation by another process counts at once. */
  users: Pick<Users, 'fetch'>;
  /** Default lifetime, e.g. `1h` (hub config tokenTtl). */
  ttl: string;
  now?: () => number;
}

export function createTokens(deps: TokensDeps): Tokens {
  const key = loadSigningKey(deps.dataDir);
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
        .sign(key);
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
        ({ payload: claims } = await jwtVerify<TokenClaims>(token, key, { issuer: ISSUER, algorithms: ['HS256'], currentDate: new Date(now()) }));
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
