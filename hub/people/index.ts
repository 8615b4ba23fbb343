import type { Logger } from 'pino';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';
import { createPeopleChanges, type Change } from './changes.js';
import { createHandovers, type Handovers } from './handovers.js';
import { createPrincipals, type Principal, type Principals } from './principals.js';
import { createRefreshTokens, type RefreshTokens } from './refresh.js';
import { createRoster, type Roster } from './roster.js';
import { loadSigningKey } from './signing-key.js';
import { createTokens, parseDuration, type Tokens } from './tokens.js';
import { createUsers, type Users } from './users.js';

export type { Principal } from './principals.js';

/** Users, tokens, roster, hand-overs and who-is-asking, over the hub database (the token signing key too). */
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
   * this process at once or by another one writing the same database (the CLI) within the poll
   * (`pollMs`, 1 s). Returns the unsubscribe.
   */
  onSignOut(listener: (userId: string) => void): () => void;
  /** Read users and roster into memory and start watching other processes' changes. */
  start(): Promise<void>;
  /** Stop watching (the database belongs to the caller). */
  close(): void;
}

export interface PeopleDeps {
  /** The hub database (hub/platform/db), migrated. */
  db: HubDatabase;
  /** A data dir from before the signing key moved into the database: its `jwt.key` is taken over once. */
  dataDir?: string | undefined;
  /** Estates for scopes and the roster (read synchronously). */
  registry: Pick<Registry, 'getEstate' | 'estatesInScope' | 'listEstates'>;
  /** Hub config tokenTtl, e.g. `1h`. */
  tokenTtl: string;
  /** Hub config refreshTtl, e.g. `30d` (default). */
  refreshTtl?: string;
  timeZone: string;
  apiToken: string | undefined;
  log?: Logger;
  /** Watch other processes' changes (default true; the one-shot CLI does not need to). */
  watch?: boolean;
  /** How often the change journal is polled (default 1000 ms). */
  pollMs?: number;
  now?: () => number;
}

/** Build the people services; no I/O until `start()` (the signing key is read on first use). */
export function createPeople(deps: PeopleDeps): People {
  const listeners = new Set<(userId: string) => void>();
  const emit = (userId: string): void => {
    for (const l of listeners) {
      try {
        l(userId);
      } catch (err) {
        deps.log?.error({ err, user: userId }, 'sign-out listener failed');
      }
    }
  };
  // Changes other processes committed: refresh the in-memory copies first, then tell the listeners,
  // so that a listener that looks the user up sees the new version. (Called only after start(), when
  // users and roster below exist.)
  async function applyChanges(changes: Change[]): Promise<void> {
    if (changes.some((c) => c.kind === 'user' || c.kind === 'sign-out')) await users.reload();
    if (changes.some((c) => c.kind === 'roster')) await roster.reload();
    for (const c of changes) if (c.kind === 'sign-out' && c.userId) emit(c.userId);
  }
  const changes = createPeopleChanges({
    db: deps.db,
    onChanges: applyChanges,
    pollMs: deps.pollMs,
    onError: (err) => deps.log?.warn({ err }, 'people change journal poll failed'),
  });
  const raw = createUsers({ db: deps.db, changes, now: deps.now });
  // Every password change and disable goes through here (REST and the CLI alike): tell the
  // listeners, so open sockets of the user are dropped at once.
  const users: Users = {
    ...raw,
    async setPassword(id, password) {
      const u = await raw.setPassword(id, password);
      emit(u.id);
      return u;
    },
    async disable(id) {
      const u = await raw.disable(id);
      emit(u.id);
      return u;
    },
  };
  // The token check reads the user from the database, not the copy: a token the CLI revoked a
  // moment ago is refused at once, as when people.db was read directly.
  const tokens = createTokens({ key: () => loadSigningKey(deps.db, { legacyDir: deps.dataDir, log: deps.log }), users: raw, ttl: deps.tokenTtl, now: deps.now });
  const refresh = createRefreshTokens({ db: deps.db, ttlMs: parseDuration(deps.refreshTtl ?? '30d'), now: deps.now });
  const roster = createRoster({ db: deps.db, users, registry: deps.registry, changes, timeZone: deps.timeZone, now: deps.now });
  const principals = createPrincipals({ tokens, registry: deps.registry, apiToken: deps.apiToken, now: deps.now });
  return {
    users,
    tokens,
    refresh,
    roster,
    handovers: createHandovers(deps.db),
    principals,
    verifySocketToken: (token) => principals.fromToken(typeof token === 'string' ? token : undefined),
    onSignOut(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      if (deps.watch !== false) await changes.start();
      await Promise.all([raw.reload(), roster.reload()]);
    },
    close: () => {
      changes.stop();
      listeners.clear();
    },
  };
}

/** createPeople, started. */
export async function openPeople(deps: PeopleDeps): Promise<People> {
  const people = createPeople(deps);
  await people.start();
  return people;
}
