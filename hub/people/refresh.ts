import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { ulid } from 'ulid';
import { RbError } from '../errors.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import { toUser as toUserOf, type User } from './users.js';

/**
 * Refresh tokens: a phone stays signed in across closed tabs and restarts (docs/alerts.md, "Sessions").
 *
 * - Opaque: 32 random bytes, base64url. Only their SHA-256 is stored (`refresh_tokens` in the hub database),
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
  issue(user: User): Promise<IssuedRefresh>;
  /** Use a token: revoke it, issue its successor. Rejects with RB_ERR_UNAUTHENTICATED or RB_ERR_TOKEN_REVOKED. */
  rotate(token: string): Promise<IssuedRefresh & { user: User }>;
  /** Revoke the token's whole family (logout); false when the token is unknown. */
  revoke(token: string): Promise<{ revoked: boolean; user?: string }>;
  readonly ttlMs: number;
}

export interface RefreshDeps {
  db: HubDatabase;
  ttlMs: number;
  now?: () => number;
}

/** Rows kept after they expired, for the reuse check of a token used late; older ones are deleted. */
const KEEP_EXPIRED_MS = 30 * 86_400_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Revoke every live refresh token of a user (password change, disable), in the caller's transaction. */
export async function revokeUserRefreshTokens(trx: Transaction<Schema>, user: string, at: number): Promise<number> {
  const r = await trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', '=', user).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

type Outcome = { ok: IssuedRefresh & { user: User } } | { revoked: string } | { refused: string };

export function createRefreshTokens(deps: RefreshDeps): RefreshTokens {
  const { ttlMs } = deps;
  const now = deps.now ?? (() => Date.now());

  async function add(trx: Transaction<Schema>, user: Pick<User, 'id' | 'tokenVersion'>, family: string, at: number): Promise<IssuedRefresh & { id: string }> {
    const refreshToken = randomBytes(32).toString('base64url');
    const id = ulid(at);
    const expires = at + ttlMs;
    await trx
      .insertInto('refresh_tokens')
      .values({ id, user_id: user.id, family, hash: hashToken(refreshToken), token_version: user.tokenVersion, created_at: at, expires_at: expires, revoked_at: null, replaced_by: null })
      .execute();
    return { id, refreshToken, refreshExpiresAt: expires };
  }
  const revokeFamily = (trx: Transaction<Schema>, family: string, at: number) =>
    trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('family', '=', family).where('revoked_at', 'is', null).execute();
  const refuse = (why: string): never => {
    throw new RbError('RB_ERR_UNAUTHENTICATED', why);
  };

  return {
    ttlMs,
    async issue(user) {
      const at = now();
      return deps.db.transaction(async (trx) => {
        await trx.deleteFrom('refresh_tokens').where('expires_at', '<', at - KEEP_EXPIRED_MS).execute();
        const { refreshToken, refreshExpiresAt } = await add(trx, user, ulid(at), at);
        return { refreshToken, refreshExpiresAt };
      });
    },
    async rotate(token) {
      if (typeof token !== 'string' || !TOKEN.test(token)) refuse('not a refresh token from this hub; log in again');
      const at = now();
      const hash = hashToken(token);
      // The outcome is decided in one transaction; a refusal is thrown after it commits, so the
      // family revocation of a reused token is kept. The token is claimed first, by a conditional
      // UPDATE: of two requests racing with one token (two tabs, or a replay), exactly one updates
      // the row (PostgreSQL re-checks the WHERE after the other commits; SQLite runs one writer at a
      // time) and the other sees it revoked, as reuse. Writing first also takes SQLite's write lock
      // before any read, so the transaction never has to upgrade a read snapshot.
      const outcome = await deps.db.transaction(async (trx): Promise<Outcome> => {
        const claimed = await trx
          .updateTable('refresh_tokens')
          .set({ revoked_at: at })
          .where('hash', '=', hash)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', at)
          .executeTakeFirst();
        const row = await trx.selectFrom('refresh_tokens').select(['id', 'user_id', 'family', 'token_version', 'expires_at']).where('hash', '=', hash).executeTakeFirst();
        if (!row) return { refused: 'unknown refresh token; log in again' };
        if (Number(claimed.numUpdatedRows) === 0) {
          if (row.expires_at <= at) return { refused: 'the refresh token has expired; log in again' };
          await revokeFamily(trx, row.family, at);
          return { revoked: 'this refresh token was used already or revoked (signed out, password changed); every session of its login is signed out now' };
        }
        const current = await trx.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst();
        if (!current || current.disabled === 1 || current.token_version !== row.token_version) {
          await revokeFamily(trx, row.family, at);
          return { revoked: 'the user was disabled or changed the password; log in again' };
        }
        const next = await add(trx, { id: current.id, tokenVersion: current.token_version }, row.family, at);
        await trx.updateTable('refresh_tokens').set({ replaced_by: next.id }).where('id', '=', row.id).execute();
        return { ok: { user: toUserOf(current), refreshToken: next.refreshToken, refreshExpiresAt: next.refreshExpiresAt } };
      });
      if ('revoked' in outcome) throw new RbError('RB_ERR_TOKEN_REVOKED', outcome.revoked);
      if ('refused' in outcome) return refuse(outcome.refused);
      return outcome.ok;
    },
    async revoke(token) {
      if (typeof token !== 'string' || !TOKEN.test(token)) return { revoked: false };
      const row = await deps.db.db.selectFrom('refresh_tokens').select(['user_id', 'family']).where('hash', '=', hashToken(token)).executeTakeFirst();
      if (!row) return { revoked: false };
      await deps.db.transaction((trx) => revokeFamily(trx, row.family, now()));
      return { revoked: true, user: row.user_id };
    },
  };
}
