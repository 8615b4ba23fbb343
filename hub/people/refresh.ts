import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { ulid } from 'ulid';
import { RbError } from '../errors.js';
import type { User, Users } from './users.js';

/**
 * Refresh tokens: a phone stays signed in across closed tabs and restarts (docs/alerts.md, "Sessions").
 *
 * - Opaque: 32 random bytes, base64url. Only their SHA-256 is stored (`refresh_tokens` in people.db),
 *   so a copy of the database signs nobody in.
 * - Rotated on every use: the token used is revoked and a new one of the same *family* (one login)
 *   is issued, valid `ttl` from then (a phone used once a month stays signed in).
 * - Reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): a revoked token that comes back was
 *   copied or replayed, so the whole family is revoked and the caller gets RB_ERR_TOKEN_REVOKED.
 * - A password change or a disable revokes every token of the user (users.ts, same transaction), and a
 *   token issued under an older `tokenVersion` is refused even if a writer forgot to.
 */

export interface IssuedRefresh {
  refreshToken: string;
  /** ms since epoch */
  refreshExpiresAt: number;
}

export interface RefreshTokens {
  /** A new family (a login). */
  issue(user: User): IssuedRefresh;
  /** Use a token: revoke it, issue its successor. Throws RB_ERR_UNAUTHENTICATED or RB_ERR_TOKEN_REVOKED. */
  rotate(token: string): IssuedRefresh & { user: User };
  /** Revoke the token's whole family (logout); false when the token is unknown. */
  revoke(token: string): { revoked: boolean; user?: string };
  readonly ttlMs: number;
}

export interface RefreshDeps {
  db: Database;
  users: Pick<Users, 'get'>;
  ttlMs: number;
  now?: () => number;
}

/** Rows kept after they expired, for the reuse check of a token used late; older ones are deleted. */
const KEEP_EXPIRED_MS = 30 * 86_400_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

type Row = { id: string; user: string; family: string; token_version: number; expires_at: number; revoked_at: number | null };

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Revoke every live refresh token of a user (password change, disable). */
export function revokeUserRefreshTokens(db: Database, user: string, at: number): number {
  return db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL').run(at, user).changes;
}

export function createRefreshTokens(deps: RefreshDeps): RefreshTokens {
  const { db, users, ttlMs } = deps;
  const now = deps.now ?? (() => Date.now());
  const insert = db.prepare(
    'INSERT INTO refresh_tokens (id, user, family, hash, token_version, created_at, expires_at) VALUES (@id, @user, @family, @hash, @version, @at, @expires)',
  );
  const byHash = db.prepare<[string], Row>('SELECT id, user, family, token_version, expires_at, revoked_at FROM refresh_tokens WHERE hash = ?');
  const revokeOne = db.prepare('UPDATE refresh_tokens SET revoked_at = ?, replaced_by = ? WHERE id = ? AND revoked_at IS NULL');
  const revokeFamily = db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL');
  const prune = db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?');

  function add(user: User, family: string, at: number): IssuedRefresh & { id: string } {
    const refreshToken = randomBytes(32).toString('base64url');
    const id = ulid(at);
    const expires = at + ttlMs;
    insert.run({ id, user: user.id, family, hash: hashToken(refreshToken), version: user.tokenVersion, at, expires });
    return { id, refreshToken, refreshExpiresAt: expires };
  }
  const refuse = (why: string): never => {
    throw new RbError('RB_ERR_UNAUTHENTICATED', why);
  };

  return {
    ttlMs,
    issue(user) {
      const at = now();
      return db.transaction(() => {
        prune.run(at - KEEP_EXPIRED_MS);
        const { refreshToken, refreshExpiresAt } = add(user, ulid(at), at);
        return { refreshToken, refreshExpiresAt };
      }).immediate();
    },
    rotate(token) {
      if (typeof token !== 'string' || !TOKEN.test(token)) refuse('not a refresh token from this hub; log in again');
      const at = now();
      // The outcome is decided in one transaction; a refusal is thrown after it commits, so the
      // family revocation of a reused token is kept.
      const outcome = db.transaction((): { ok: IssuedRefresh & { user: User } } | { revoked: string } | { refused: string } => {
        const row = byHash.get(hashToken(token));
        if (!row) return { refused: 'unknown refresh token; log in again' };
        if (row.revoked_at !== null) {
          revokeFamily.run(at, row.family);
          return { revoked: 'this refresh token was used already or revoked (signed out, password changed); every session of its login is signed out now' };
        }
        if (row.expires_at <= at) return { refused: 'the refresh token has expired; log in again' };
        const user = users.get(row.user);
        if (!user || user.disabled || user.tokenVersion !== row.token_version) {
          revokeFamily.run(at, row.family);
          return { revoked: 'the user was disabled or changed the password; log in again' };
        }
        const next = add(user, row.family, at);
        revokeOne.run(at, next.id, row.id);
        return { ok: { user, refreshToken: next.refreshToken, refreshExpiresAt: next.refreshExpiresAt } };
      }).immediate();
      if ('revoked' in outcome) throw new RbError('RB_ERR_TOKEN_REVOKED', outcome.revoked);
      if ('refused' in outcome) return refuse(outcome.refused);
      return outcome.ok;
    },
    revoke(token) {
      if (typeof token !== 'string' || !TOKEN.test(token)) return { revoked: false };
      const row = byHash.get(hashToken(token));
      if (!row) return { revoked: false };
      revokeFamily.run(now(), row.family);
      return { revoked: true, user: row.user };
    },
  };
}
