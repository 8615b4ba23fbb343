import type { Database } from 'better-sqlite3';
import type { Registry } from '../registry.js';
import { createHandovers, type Handovers } from './handovers.js';
import { createPrincipals, type Principal, type Principals } from './principals.js';
import { createRefreshTokens, type RefreshTokens } from './refresh.js';
import { createRoster, type Roster } from './roster.js';
import { openPeopleDb } from './schema.js';
import { createSignOuts } from './sign-outs.js';
import { createTokens, parseDuration, type Tokens } from './tokens.js';
import { createUsers, type Users } from './users.js';

export type { Principal } from './principals.js';

/** Users, tokens, roster, hand-overs and who-is-asking, over `{dataDir}/people.db` and `{dataDir}/jwt.key`. */
export interface People {
  readonly users: Users;
  readonly tokens: Tokens;
  /** Refresh tokens (rotated, revocable) beside the short-lived access tokens. */
  readonly refresh: RefreshTokens;
  readonly roster: Roster;
  readonly handovers: Handovers;
  readonly principals: Principals;
  /** For Socket.IO `io.use`: the principal of `handshake.auth.token`; throws RbError (code in `err.code`). */
  verifySocketToken(token: unknown): Promise<Principal>;
  /**
   * Called with a user id when that user is signed out everywhere (password changed, disabled), by
   * this process or another one writing the same people.db (the CLI). Returns the unsubscribe.
   */
  onSignOut(listener: (userId: string) => void): () => void;
  close(): void;
}

export interface PeopleDeps {
  dataDir: string;
  registry: Registry;
  /** Hub config tokenTtl, e.g. `1h`. */
  tokenTtl: string;
  /** Hub config refreshTtl, e.g. `30d` (default). */
  refreshTtl?: string;
  timeZone: string;
  apiToken: string | undefined;
  now?: () => number;
}

export function openPeople(deps: PeopleDeps): People {
  const db: Database = openPeopleDb(deps.dataDir);
  try {
    const signOuts = createSignOuts(db);
    const raw = createUsers(db, deps.now);
    // Every password change and disable goes through here (REST and the CLI alike): tell the
    // listeners, so open sockets of the user are dropped at once.
    const users: Users = {
      ...raw,
      async setPassword(id, password) {
        const u = await raw.setPassword(id, password);
        signOuts.notify(u.id);
        return u;
      },
      disable(id) {
        const u = raw.disable(id);
        signOuts.notify(u.id);
        return u;
      },
    };
    const tokens = createTokens({ dataDir: deps.dataDir, users, ttl: deps.tokenTtl, now: deps.now });
    const refresh = createRefreshTokens({ db, users, ttlMs: parseDuration(deps.refreshTtl ?? '30d'), now: deps.now });
    const roster = createRoster({ db, users, registry: deps.registry, timeZone: deps.timeZone, now: deps.now });
    const principals = createPrincipals({ tokens, registry: deps.registry, apiToken: deps.apiToken, now: deps.now });
    return {
      users,
      tokens,
      refresh,
      roster,
      handovers: createHandovers(db),
      principals,
      verifySocketToken: (token) => principals.fromToken(typeof token === 'string' ? token : undefined),
      onSignOut: (listener) => signOuts.on(listener),
      close: () => {
        signOuts.close();
        db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
