import type { Selectable, Transaction } from 'kysely';
import { ulid } from 'ulid';
import { z } from 'zod';
import { RbError } from '../errors.js';
import { isUniqueViolation, type HubDatabase, type Schema } from '../platform/db/index.js';
import type { UserTable } from '../platform/db/schema-people.js';
import { hashSecret, verifySecret } from '../registry-secrets.js';
import type { PeopleChanges } from './changes.js';
import { revokeUserRefreshTokens } from './refresh.js';
import { Role, Scopes } from './scopes.js';

export interface User {
  id: string;
  name: string;
  displayName: string | null;
  role: Role;
  scopes: string[];
  tokenVersion: number;
  disabled: boolean;
  createdAt: number;
  hasPassword: boolean;
}

/** A login name: what a volunteer types on a phone; no spaces, no ':' (kept out of audit targets). */
export const UserName = z
  .string()
  .regex(/^[\p{L}\p{N}._@-]{1,64}$/u, 'a user name is 1-64 letters, digits or . _ @ -');
export const Password = z.string().min(8, 'a password has at least 8 characters').max(200);
export const DisplayName = z.string().min(1).max(100);

export const NewUser = z
  .object({
    name: UserName,
    displayName: DisplayName.optional(),
    role: Role,
    scopes: Scopes,
    password: Password.optional(),
  })
  .strict();
export type NewUser = z.input<typeof NewUser>;

export interface Users {
  /** Create a user; refuses a taken name (RB_ERR_CONFLICT). Without a password the user logs in only with issued tokens. */
  add(input: NewUser): Promise<User>;
  /** From the in-memory copy (see createUsers): display names, roster, scopes. */
  get(id: string): User | undefined;
  byName(name: string): User | undefined;
  /** `id` or name. */
  find(idOrName: string): User | undefined;
  /** Every user, by name. */
  list(): User[];
  /** `id` or name, read from the database now (and the copy updated): for checks that must see another process's write at once. */
  fetch(idOrName: string): Promise<User | undefined>;
  /** New password; bumps the token version and revokes the refresh tokens, so every session before it is signed out. */
  setPassword(idOrName: string, password: string): Promise<User>;
  /** Disable (idempotent); bumps the token version and revokes the refresh tokens. */
  disable(idOrName: string): Promise<User>;
  /** The user when the name exists, is enabled, has a password and it matches; otherwise null. */
  checkPassword(name: string, password: string): Promise<User | null>;
  /** Read every user into the in-memory copy again (start, and changes by another process). */
  reload(): Promise<void>;
}

export interface UsersDeps {
  db: HubDatabase;
  /** Where writes tell other processes (hub/people/changes.ts). */
  changes: Pick<PeopleChanges, 'record'>;
  now?: () => number;
}

type Row = Selectable<UserTable>;

export const toUser = (r: Row): User => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  role: r.role,
  scopes: JSON.parse(r.scopes) as string[],
  tokenVersion: r.token_version,
  disabled: r.disabled === 1,
  createdAt: r.created_at,
  hasPassword: r.password_hash !== null,
});

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** A hash to compare against when the name is unknown, so timing does not tell which names exist. */
let decoy: Promise<string> | undefined;

/**
 * Users in the hub database (`users`); passwords as scrypt hashes with a per-user salt
 * (registry-secrets.ts).
 *
 * The reads other modules make synchronously and often (a display name for every alert view, the
 * roster's recipients at every escalation, scopes of a REST call) are served from an in-memory copy
 * of the table, without hashes: it is small (the people of one street), it changes seldom, and
 * alert rules must not wait on a database round trip (PostgreSQL) per name. The copy is updated
 * after each write of this process and, for writes of another process (the CLI), by the change
 * journal (changes.ts) within its poll. What must be exact at once reads the database: the token
 * check (`fetch`, so a token revoked by the CLI a moment ago is refused), `checkPassword`, and every
 * write's lookup of its target.
 */
export function createUsers(deps: UsersDeps): Users {
  const { db } = deps.db;
  const now = deps.now ?? (() => Date.now());
  let byId = new Map<string, User>();
  let byName = new Map<string, User>();
  /** Ordering of cache updates whose queries overlap (a pool runs them in parallel): the later read wins. */
  let ticket = 0;
  const stampOf = new Map<string, number>();

  function put(user: User, stamp: number): void {
    if ((stampOf.get(user.id) ?? 0) > stamp) return;
    stampOf.set(user.id, stamp);
    const before = byId.get(user.id);
    if (before && before.name !== user.name) byName.delete(before.name);
    byId.set(user.id, user);
    byName.set(user.name, user);
  }

  const select = () => db.selectFrom('users').selectAll();
  async function readRow(idOrName: string): Promise<Row | undefined> {
    return (await select().where('id', '=', idOrName).executeTakeFirst()) ?? (await select().where('name', '=', idOrName).executeTakeFirst());
  }
  async function fetch(idOrName: string): Promise<User | undefined> {
    const stamp = ++ticket;
    const row = await readRow(idOrName);
    if (!row) return undefined;
    const user = toUser(row);
    put(user, stamp);
    return user;
  }
  async function mustFetch(idOrName: string): Promise<User> {
    const user = await fetch(idOrName);
    if (!user) throw new RbError('RB_ERR_UNKNOWN_USER', `no user ${JSON.stringify(idOrName)}`);
    return user;
  }
  /** Run a write and its journal row in one transaction, then read the user back into the copy. */
  async function write(id: string, kind: 'user' | 'sign-out', fn: (trx: Transaction<Schema>) => Promise<void>): Promise<User> {
    await deps.db.transaction(async (trx) => {
      await fn(trx);
      await deps.changes.record(trx, kind, id);
    });
    return mustFetch(id);
  }

  return {
    async add(input) {
      const u = parse(NewUser, input);
      const taken = new RbError('RB_ERR_CONFLICT', `a user named ${u.name} exists already`);
      if (await select().where('name', '=', u.name).executeTakeFirst()) throw taken;
      const hash = u.password === undefined ? null : await hashSecret(u.password);
      const id = ulid();
      try {
        return await write(id, 'user', async (trx) => {
          await trx
            .insertInto('users')
            .values({ id, name: u.name, display_name: u.displayName ?? null, role: u.role, scopes: JSON.stringify([...new Set(u.scopes)]), password_hash: hash, token_version: 1, disabled: 0, created_at: now() })
            .execute();
        });
      } catch (err) {
        // Another process took the name while scrypt ran.
        if (isUniqueViolation(err)) throw taken;
        throw err;
      }
    },
    get: (id) => byId.get(id),
    byName: (name) => byName.get(name),
    find: (idOrName) => byId.get(idOrName) ?? byName.get(idOrName),
    list: () => [...byId.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    fetch,
    async setPassword(idOrName, password) {
      const user = await mustFetch(idOrName);
      const hash = await hashSecret(parse(Password, password));
      return write(user.id, 'sign-out', async (trx) => {
        await trx.updateTable('users').set((eb) => ({ password_hash: hash, token_version: eb('token_version', '+', 1) })).where('id', '=', user.id).execute();
        await revokeUserRefreshTokens(trx, user.id, now());
      });
    },
    async disable(idOrName) {
      const user = await mustFetch(idOrName);
      return write(user.id, 'sign-out', async (trx) => {
        await trx
          .updateTable('users')
          .set((eb) => ({ disabled: 1, token_version: eb('token_version', '+', 1) }))
          .where('id', '=', user.id)
          .where('disabled', '=', 0)
          .execute();
        await revokeUserRefreshTokens(trx, user.id, now());
      });
    },
    async checkPassword(name, password) {
      if (name.length > 64 || password.length > 200) return null;
      const row = await select().where('name', '=', name).executeTakeFirst();
      if (!row || row.password_hash === null || row.disabled === 1) {
        decoy ??= hashSecret('decoy-password');
        await verifySecret(password, await decoy);
        return null;
      }
      if (!(await verifySecret(password, row.password_hash))) return null;
      // Re-read: the password may have changed or the user been disabled while scrypt ran.
      const stamp = ++ticket;
      const current = await select().where('id', '=', row.id).executeTakeFirst();
      if (!current || current.disabled === 1 || current.password_hash !== row.password_hash) return null;
      const user = toUser(current);
      put(user, stamp);
      return user;
    },
    async reload() {
      const stamp = ++ticket;
      const rows = await select().orderBy('name').execute();
      const nextById = new Map<string, User>();
      for (const r of rows) {
        // A row read later by fetch() is newer than this whole-table read: keep it.
        const kept = (stampOf.get(r.id) ?? 0) > stamp ? byId.get(r.id) : undefined;
        nextById.set(r.id, kept ?? toUser(r));
        if (!kept) stampOf.set(r.id, stamp);
      }
      // A user added while this read ran is not in it but is in the copy already.
      for (const [id, user] of byId) if (!nextById.has(id) && (stampOf.get(id) ?? 0) > stamp) nextById.set(id, user);
      byId = nextById;
      byName = new Map([...nextById.values()].map((u) => [u.name, u]));
    },
  };
}
