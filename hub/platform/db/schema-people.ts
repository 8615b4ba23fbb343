import type { Generated } from 'kysely';

/**
 * People and roster in the hub database (hub/people/): what `{dataDir}/people.db` held before, with
 * `user` renamed `user_id` (a reserved word on PostgreSQL) and the exception window `from_at` / `to_at`.
 * Booleans are 0/1 integers and JSON is TEXT on both engines.
 */
export interface UserTable {
  id: string;
  name: string;
  display_name: string | null;
  role: 'volunteer' | 'patrol' | 'center' | 'admin';
  /** JSON array of scopes. */
  scopes: string;
  password_hash: string | null;
  token_version: number;
  disabled: number;
  created_at: number;
}

export interface ShiftTable {
  id: string;
  user_id: string;
  estate: string;
  weekday: number;
  start: string;
  end: string;
  created_at: number;
}

export interface RosterExceptionTable {
  id: string;
  user_id: string;
  estate: string;
  from_at: number;
  to_at: number;
  kind: 'off' | 'on';
  created_at: number;
}

export interface HandoverTable {
  id: string;
  estate: string;
  from_actor: string;
  from_name: string;
  note: string;
  at: number;
  /** JSON array of the users handed over to. */
  to_users: string;
}

export interface RefreshTokenTable {
  id: string;
  user_id: string;
  family: string;
  hash: string;
  token_version: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  replaced_by: string | null;
}

/**
 * The journal by which every process writing people (the hub, the admin CLI, later other hub
 * nodes) tells the others: hub/people/changes.ts. Replaces SQLite's `PRAGMA data_version`.
 */
export interface PeopleChangeTable {
  id: Generated<number>;
  at: number;
  /** The writing process (random per process): its own rows are skipped by its watcher. */
  origin: string;
  kind: 'user' | 'sign-out' | 'roster' | 'contacts';
  user_id: string | null;
}

export interface PeopleSchema {
  users: UserTable;
  shifts: ShiftTable;
  roster_exceptions: RosterExceptionTable;
  handovers: HandoverTable;
  refresh_tokens: RefreshTokenTable;
  people_changes: PeopleChangeTable;
}
