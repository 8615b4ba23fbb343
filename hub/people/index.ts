import type { Database } from 'better-sqlite3';
import type { Registry } from '../registry.js';
import { createPrincipals, type Principal, type Principals } from './principals.js';
import { createRoster, type Roster } from './roster.js';
import { openPeopleDb } from './schema.js';
import { createTokens, type Tokens } from './tokens.js';
import { createUsers, type Users } from './users.js';

export type { Principal } from './principals.js';

/** Users, tokens, roster and who-is-asking, over `{dataDir}/people.db` and `{dataDir}/jwt.key`. */
export interface People {
  readonly users: Users;
  readonly tokens: Tokens;
  readonly roster: Roster;
  readonly principals: Principals;
  /** For Socket.IO `io.use`: the principal of `handshake.auth.token`; throws RbError (code in `err.code`). */
  verifySocketToken(token: unknown): Promise<Principal>;
  close(): void;
}

export interface PeopleDeps {
  dataDir: string;
  registry: Registry;
  /** Hub config tokenTtl, e.g. `1h`. */
  tokenTtl: string;
  timeZone: string;
  apiToken: string | undefined;
  now?: () => number;
}

export function openPeople(deps: PeopleDeps): People {
  const db: Database = openPeopleDb(deps.dataDir);
  try {
    const users = createUsers(db, deps.now);
    const tokens = createTokens({ dataDir: deps.dataDir, users, ttl: deps.tokenTtl, now: deps.now });
    const roster = createRoster({ db, users, registry: deps.registry, timeZone: deps.timeZone, now: deps.now });
    const principals = createPrincipals({ tokens, registry: deps.registry, apiToken: deps.apiToken, now: deps.now });
    return {
      users,
      tokens,
      roster,
      principals,
      verifySocketToken: (token) => principals.fromToken(typeof token === 'string' ? token : undefined),
      close: () => db.close(),
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
