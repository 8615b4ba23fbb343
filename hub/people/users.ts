import type { Database } from 'better-sqlite3';
import { ulid } from 'ulid';
import { z } from 'zod';
import { RbError } from '../errors.js';
import { hashSecret, verifySecret } from '../registry-secrets.js';
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
  get(id: string): User | undefined;
  byName(name: string): User | undefined;
  /** `id` or name. */
  find(idOrName: string): User | undefined;
  list(): User[];
  /** New password; bumps the token version and revokes the refresh tokens, so every session before it is signed out. */
  setPassword(id: string, password: string): Promise<User>;
  /** Disable (idempotent); bumps the token version and revokes the refresh tokens. */
  disable(id: string): User;
  /** The user when the name exists, is enabled, has a password and it matches; otherwise null. */
  checkPassword(name: string, password: string): Promise<User | null>;
}

type Row = {
  id: string;
  name: string;
  display_name: string | null;
  role: Role;
  scopes: string;
  password_hash: string | null;
  token_version: number;
  disabled: number;
  created_at: number;
};

const toUser = (r: Row): User => ({
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

/** Users in `people.db` (see schema.ts); passwords as scrypt hashes with a per-user salt (registry-secrets.ts). */
export function createUsers(db: Database, now: () => number = () => Date.now()): Users {
  const insert = db.prepare(
    `INSERT INTO users (id, name, display_name, role, scopes, password_hash, token_version, disabled, created_at)
     VALUES (@id, @name, @displayName, @role, @scopes, @hash, 1, 0, @now)`,
  );
  const byId = db.prepare<[string], Row>('SELECT * FROM users WHERE id = ?');
  const byName = db.prepare<[string], Row>('SELECT * FROM users WHERE name = ?');
  const all = db.prepare<[], Row>('SELECT * FROM users ORDER BY name');
  const setHash = db.prepare('UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE id = ?');
  const setDisabled = db.prepare('UPDATE users SET disabled = 1, token_version = token_version + 1 WHERE id = ? AND disabled = 0');

  const mustGet = (id: string): Row => {
    const row = byId.get(id) ?? byName.get(id);
    if (!row) throw new RbError('RB_ERR_UNKNOWN_USER', `no user ${JSON.stringify(id)}`);
    return row;
  };

  return {
    async add(input) {
      const u = parse(NewUser, input);
      if (byName.get(u.name)) throw new RbError('RB_ERR_CONFLICT', `a user named ${u.name} exists already`);
      const hash = u.password === undefined ? null : await hashSecret(u.password);
      const id = ulid();
      try {
        insert.run({ id, name: u.name, displayName: u.displayName ?? null, role: u.role, scopes: JSON.stringify([...new Set(u.scopes)]), hash, now: now() });
      } catch (err) {
        // Another process took the name while scrypt ran.
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new RbError('RB_ERR_CONFLICT', `a user named ${u.name} exists already`);
        throw err;
      }
      return toUser(byId.get(id)!);
    },
    get: (id) => {
      const r = byId.get(id);
      return r && toUser(r);
    },
    byName: (name) => {
      const r = byName.get(name);
      return r && toUser(r);
    },
    find: (idOrName) => {
      const r = byId.get(idOrName) ?? byName.get(idOrName);
      return r && toUser(r);
    },
    list: () => all.all().map(toUser),
    async setPassword(id, password) {
      const row = mustGet(id);
      const hash = await hashSecret(parse(Password, password));
      db.transaction(() => {
        setHash.run(hash, row.id);
        revokeUserRefreshTokens(db, row.id, now());
      }).immediate();
      return toUser(byId.get(row.id)!);
    },
    disable(id) {
      const row = mustGet(id);
      db.transaction(() => {
        setDisabled.run(row.id);
        revokeUserRefreshTokens(db, row.id, now());
      }).immediate();
      return toUser(byId.get(row.id)!);
    },
    async checkPassword(name, password) {
      if (name.length > 64 || password.length > 200) return null;
      const row = byName.get(name);
      if (!row || row.password_hash === null || row.disabled === 1) {
        decoy ??= hashSecret('decoy-password');
        await verifySecret(password, await decoy);
        return null;
      }
      if (!(await verifySecret(password, row.password_hash))) return null;
      // Re-read: the password may have changed or the user been disabled while scrypt ran.
      const current = byId.get(row.id);
      if (!current || current.disabled === 1 || current.password_hash !== row.password_hash) return null;
      return toUser(current);
    },
  };
}
