import { monotonicFactory } from 'ulid';

/** Ids that increase within a process, even within one millisecond: lists ordered by (time, id) keep the order things were added in. */
const ulid = monotonicFactory();
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { RbError } from '../errors.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { PeopleChanges } from './changes.js';
import type { EstateRecord, Registry } from '../registry.js';
import type { RosterException, Shift } from '../../protocol/api.js';
import { covers, type Role } from './scopes.js';
import type { User, Users } from './users.js';
import { localTime, toMinute, zonedInstant } from '../../lib/zoned.js';

const HhMm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a time of day "HH:MM" (00:00-24:00)');

export const NewShift = z
  .object({ user: z.string().min(1).max(64), estate: Id, weekday: z.number().int().min(1).max(7), start: HhMm, end: HhMm })
  .strict()
  .refine((s) => s.start !== '24:00', { path: ['start'], message: 'a shift starts at 23:59 at the latest' });
export const NewException = z
  .object({
    user: z.string().min(1).max(64),
    estate: Id,
    from: z.number().int().min(0),
    to: z.number().int().min(0),
    kind: z.enum(['off', 'on']),
  })
  .strict()
  .refine((e) => e.to > e.from, { path: ['to'], message: 'must be after from' });

/** Weekly: `weekday` 1 = Monday ... 7 = Sunday, `start`/`end` "HH:MM" local; `end <= start` crosses midnight. */
// The wire shapes of a shift and an exception are the screens' contract too (protocol/api.ts).
export type { RosterException, Shift };

/** Escalation levels of docs/alerts.md: 0 on duty, 1 all volunteers, 2 grid patrol, 3 street center. */
export type EscalationLevel = 0 | 1 | 2 | 3;

export interface Roster {
  addShift(input: z.input<typeof NewShift>): Promise<Shift>;
  removeShift(id: string): Promise<Shift | undefined>;
  listShifts(filter?: { estates?: readonly string[]; user?: string }): Shift[];
  addException(input: z.input<typeof NewException>): Promise<RosterException>;
  removeException(id: string): Promise<RosterException | undefined>;
  listExceptions(filter?: { estates?: readonly string[]; user?: string; after?: number }): RosterException[];
  /** Enabled volunteers whose shift or `on` exception covers `at`, minus those with an `off` exception. */
  onDuty(estate: string, at?: number): User[];
  /** The next moment (within 8 days) someone not on duty at `at` comes on duty, and who is on duty then. */
  nextOnDuty(estate: string, at?: number): { at: number; users: User[] } | null;
  /** Enabled users of `role` whose scopes cover the estate (by id, its grid or its street). */
  covering(role: Role, estate: string): User[];
  recipients(level: EscalationLevel, estate: string, at?: number): User[];
  /** Read shifts and exceptions into the in-memory copy again (start, and changes by another process). */
  reload(): Promise<void>;
  readonly timeZone: string;
}

export interface RosterDeps {
  db: HubDatabase;
  users: Users;
  registry: Pick<Registry, 'getEstate'>;
  /** Where writes tell other processes (hub/people/changes.ts). */
  changes: Pick<PeopleChanges, 'record'>;
  timeZone: string;
  now?: () => number;
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * Weekly shifts plus exceptions in the hub database, evaluated in the hub's time zone.
 *
 * Reads (who is on duty, recipients of an escalation) are synchronous over an in-memory copy of
 * both tables, as the alert rules need them at every escalation step; the roster of a street is a
 * few hundred rows. Writes go to the database and then reload the copy; another process's writes
 * arrive through the change journal (changes.ts).
 */
export function createRoster(deps: RosterDeps): Roster {
  const { users, timeZone } = deps;
  const { db } = deps.db;
  const now = deps.now ?? (() => Date.now());
  let shifts: Shift[] = [];
  let exceptions: RosterException[] = [];
  let ticket = 0;
  let applied = 0;

  async function reload(): Promise<void> {
    const stamp = ++ticket;
    const [s, e] = await Promise.all([
      db.selectFrom('shifts').select(['id', 'user_id', 'estate', 'weekday', 'start', 'end']).orderBy('estate').orderBy('weekday').orderBy('start').orderBy('id').execute(),
      db.selectFrom('roster_exceptions').select(['id', 'user_id', 'estate', 'from_at', 'to_at', 'kind']).orderBy('from_at').orderBy('id').execute(),
    ]);
    // Two reloads in flight (a pool runs them in parallel): the one asked for later wins.
    if (stamp < applied) return;
    applied = stamp;
    shifts = s.map((r) => ({ id: r.id, user: r.user_id, estate: r.estate, weekday: r.weekday, start: r.start, end: r.end }));
    exceptions = e.map((r) => ({ id: r.id, user: r.user_id, estate: r.estate, from: r.from_at, to: r.to_at, kind: r.kind }));
  }
  const shiftsOf = (estate: string): Shift[] => shifts.filter((s) => s.estate === estate);
  const exceptionsOf = (estate: string, after: number): RosterException[] => exceptions.filter((e) => e.estate === estate && e.to > after);

  const estateRow = (estate: string): EstateRecord => deps.registry.getEstate(estate) ?? { id: estate, grid: null, street: null, name: null };

  /** The user a roster entry is for: exists, enabled, a volunteer whose scope covers the estate. */
  async function volunteerFor(idOrName: string, estate: string): Promise<User> {
    const user = await users.fetch(idOrName);
    if (!user) throw new RbError('RB_ERR_UNKNOWN_USER', `no user ${JSON.stringify(idOrName)}`);
    if (user.role !== 'volunteer') throw new RbError('RB_ERR_BAD_BODY', `user ${user.name} is a ${user.role}; the duty roster is for volunteers`);
    if (!covers(user.scopes, estateRow(estate))) throw new RbError('RB_ERR_BAD_BODY', `user ${user.name}'s scopes (${user.scopes.join(', ')}) do not cover estate ${estate}`);
    return user;
  }

  function shiftCovers(s: Shift, weekday: number, minute: number): boolean {
    const start = toMinute(s.start);
    const end = toMinute(s.end);
    if (end > start) return s.weekday === weekday && minute >= start && minute < end;
    return (s.weekday === weekday && minute >= start) || ((s.weekday % 7) + 1 === weekday && minute < end);
  }

  function onDutyIds(estate: string, at: number): Set<string> {
    const { weekday, minute } = localTime(at, timeZone);
    const ids = new Set(shiftsOf(estate).filter((s) => shiftCovers(s, weekday, minute)).map((s) => s.user));
    const current = exceptionsOf(estate, at).filter((e) => e.from <= at && at < e.to);
    for (const e of current) if (e.kind === 'on') ids.add(e.user);
    for (const e of current) if (e.kind === 'off') ids.delete(e.user);
    return ids;
  }

  function onDuty(estate: string, at = now()): User[] {
    const row = estateRow(estate);
    return [...onDutyIds(estate, at)]
      .map((id) => users.get(id))
      .filter((u): u is User => u !== undefined && !u.disabled && u.role === 'volunteer' && covers(u.scopes, row))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  function covering(role: Role, estate: string): User[] {
    const row = estateRow(estate);
    return users.list().filter((u) => u.role === role && !u.disabled && covers(u.scopes, row));
  }

  return {
    timeZone,
    reload,
    async addShift(input) {
      const s = parse(NewShift, input);
      const user = await volunteerFor(s.user, s.estate);
      const shift: Shift = { id: ulid(), user: user.id, estate: s.estate, weekday: s.weekday, start: s.start, end: s.end };
      await deps.db.transaction(async (trx) => {
        await trx.insertInto('shifts').values({ id: shift.id, user_id: shift.user, estate: shift.estate, weekday: shift.weekday, start: shift.start, end: shift.end, created_at: now() }).execute();
        await deps.changes.record(trx, 'roster', shift.user);
      });
      await reload();
      return shift;
    },
    async removeShift(id) {
      const row = await db.selectFrom('shifts').select(['id', 'user_id', 'estate', 'weekday', 'start', 'end']).where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      await deps.db.transaction(async (trx) => {
        await trx.deleteFrom('shifts').where('id', '=', id).execute();
        await deps.changes.record(trx, 'roster', row.user_id);
      });
      await reload();
      return { id: row.id, user: row.user_id, estate: row.estate, weekday: row.weekday, start: row.start, end: row.end };
    },
    listShifts(filter = {}) {
      return shifts.filter((s) => (!filter.estates || filter.estates.includes(s.estate)) && (!filter.user || s.user === filter.user));
    },
    async addException(input) {
      const e = parse(NewException, input);
      const user = await volunteerFor(e.user, e.estate);
      const x: RosterException = { id: ulid(), user: user.id, estate: e.estate, from: e.from, to: e.to, kind: e.kind };
      await deps.db.transaction(async (trx) => {
        await trx.insertInto('roster_exceptions').values({ id: x.id, user_id: x.user, estate: x.estate, from_at: x.from, to_at: x.to, kind: x.kind, created_at: now() }).execute();
        await deps.changes.record(trx, 'roster', x.user);
      });
      await reload();
      return x;
    },
    async removeException(id) {
      const row = await db.selectFrom('roster_exceptions').select(['id', 'user_id', 'estate', 'from_at', 'to_at', 'kind']).where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      await deps.db.transaction(async (trx) => {
        await trx.deleteFrom('roster_exceptions').where('id', '=', id).execute();
        await deps.changes.record(trx, 'roster', row.user_id);
      });
      await reload();
      return { id: row.id, user: row.user_id, estate: row.estate, from: row.from_at, to: row.to_at, kind: row.kind };
    },
    listExceptions(filter = {}) {
      const after = filter.after ?? 0;
      return exceptions.filter((e) => e.to > after && (!filter.estates || filter.estates.includes(e.estate)) && (!filter.user || e.user === filter.user));
    },
    onDuty,
    nextOnDuty(estate, at = now()) {
      const current = new Set(onDuty(estate, at).map((u) => u.id));
      const horizon = at + 8 * 86_400_000;
      const candidates = new Set<number>();
      const today = localTime(at, timeZone);
      const ofEstate = shiftsOf(estate);
      for (let d = 0; d <= 8; d++) {
        const weekday = ((today.weekday - 1 + d) % 7) + 1;
        for (const s of ofEstate) if (s.weekday === weekday) candidates.add(zonedInstant(today.year, today.month, today.day + d, toMinute(s.start), timeZone));
      }
      for (const e of exceptionsOf(estate, at)) candidates.add(e.kind === 'on' ? e.from : e.to);
      for (const t of [...candidates].filter((t) => t > at && t <= horizon).sort((a, b) => a - b)) {
        const then = onDuty(estate, t);
        if (then.some((u) => !current.has(u.id))) return { at: t, users: then };
      }
      return null;
    },
    covering,
    recipients(level, estate, at = now()) {
      switch (level) {
        case 0:
          return onDuty(estate, at);
        case 1:
          return covering('volunteer', estate);
        case 2:
          return covering('patrol', estate);
        case 3:
          return covering('center', estate);
      }
    },
  };
}
