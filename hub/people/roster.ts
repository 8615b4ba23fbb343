import type { Database } from 'better-sqlite3';
import { ulid } from 'ulid';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { RbError } from '../errors.js';
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
  addShift(input: z.input<typeof NewShift>): Shift;
  removeShift(id: string): Shift | undefined;
  listShifts(filter?: { estates?: readonly string[]; user?: string }): Shift[];
  addException(input: z.input<typeof NewException>): RosterException;
  removeException(id: string): RosterException | undefined;
  listExceptions(filter?: { estates?: readonly string[]; user?: string; after?: number }): RosterException[];
  /** Enabled volunteers whose shift or `on` exception covers `at`, minus those with an `off` exception. */
  onDuty(estate: string, at?: number): User[];
  /** The next moment (within 8 days) someone not on duty at `at` comes on duty, and who is on duty then. */
  nextOnDuty(estate: string, at?: number): { at: number; users: User[] } | null;
  /** Enabled users of `role` whose scopes cover the estate (by id, its grid or its street). */
  covering(role: Role, estate: string): User[];
  recipients(level: EscalationLevel, estate: string, at?: number): User[];
  readonly timeZone: string;
}

export interface RosterDeps {
  db: Database;
  users: Users;
  registry: Pick<Registry, 'getEstate'>;
  timeZone: string;
  now?: () => number;
}

type ShiftRow = Shift;
type ExceptionRow = RosterException;

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** Weekly shifts plus exceptions in `people.db`, evaluated in the hub's time zone. */
export function createRoster(deps: RosterDeps): Roster {
  const { db, users, timeZone } = deps;
  const now = deps.now ?? (() => Date.now());
  const insertShift = db.prepare('INSERT INTO shifts (id, user, estate, weekday, start, "end", created_at) VALUES (@id, @user, @estate, @weekday, @start, @end, @now)');
  const shiftById = db.prepare<[string], ShiftRow>('SELECT id, user, estate, weekday, start, "end" FROM shifts WHERE id = ?');
  const deleteShift = db.prepare('DELETE FROM shifts WHERE id = ?');
  const allShifts = db.prepare<[], ShiftRow>('SELECT id, user, estate, weekday, start, "end" FROM shifts ORDER BY estate, weekday, start, id');
  const shiftsOf = db.prepare<[string], ShiftRow>('SELECT id, user, estate, weekday, start, "end" FROM shifts WHERE estate = ?');
  const insertException = db.prepare('INSERT INTO roster_exceptions (id, user, estate, "from", "to", kind, created_at) VALUES (@id, @user, @estate, @from, @to, @kind, @now)');
  const exceptionById = db.prepare<[string], ExceptionRow>('SELECT id, user, estate, "from", "to", kind FROM roster_exceptions WHERE id = ?');
  const deleteException = db.prepare('DELETE FROM roster_exceptions WHERE id = ?');
  const allExceptions = db.prepare<[number], ExceptionRow>('SELECT id, user, estate, "from", "to", kind FROM roster_exceptions WHERE "to" > ? ORDER BY "from", id');
  const exceptionsOf = db.prepare<[string, number], ExceptionRow>('SELECT id, user, estate, "from", "to", kind FROM roster_exceptions WHERE estate = ? AND "to" > ?');

  const estateRow = (estate: string): EstateRecord => deps.registry.getEstate(estate) ?? { id: estate, grid: null, street: null, name: null };

  /** The user a roster entry is for: exists, enabled, a volunteer whose scope covers the estate. */
  function volunteerFor(idOrName: string, estate: string): User {
    const user = users.find(idOrName);
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
    const ids = new Set(shiftsOf.all(estate).filter((s) => shiftCovers(s, weekday, minute)).map((s) => s.user));
    const exceptions = exceptionsOf.all(estate, at).filter((e) => e.from <= at && at < e.to);
    for (const e of exceptions) if (e.kind === 'on') ids.add(e.user);
    for (const e of exceptions) if (e.kind === 'off') ids.delete(e.user);
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
    addShift(input) {
      const s = parse(NewShift, input);
      const user = volunteerFor(s.user, s.estate);
      const id = ulid();
      insertShift.run({ ...s, id, user: user.id, now: now() });
      return shiftById.get(id)!;
    },
    removeShift(id) {
      const row = shiftById.get(id);
      if (row) deleteShift.run(id);
      return row;
    },
    listShifts(filter = {}) {
      return allShifts.all().filter((s) => (!filter.estates || filter.estates.includes(s.estate)) && (!filter.user || s.user === filter.user));
    },
    addException(input) {
      const e = parse(NewException, input);
      const user = volunteerFor(e.user, e.estate);
      const id = ulid();
      insertException.run({ ...e, id, user: user.id, now: now() });
      return exceptionById.get(id)!;
    },
    removeException(id) {
      const row = exceptionById.get(id);
      if (row) deleteException.run(id);
      return row;
    },
    listExceptions(filter = {}) {
      return allExceptions
        .all(filter.after ?? 0)
        .filter((e) => (!filter.estates || filter.estates.includes(e.estate)) && (!filter.user || e.user === filter.user));
    },
    onDuty,
    nextOnDuty(estate, at = now()) {
      const current = new Set(onDuty(estate, at).map((u) => u.id));
      const horizon = at + 8 * 86_400_000;
      const candidates = new Set<number>();
      const today = localTime(at, timeZone);
      const shifts = shiftsOf.all(estate);
      for (let d = 0; d <= 8; d++) {
        const weekday = ((today.weekday - 1 + d) % 7) + 1;
        for (const s of shifts) if (s.weekday === weekday) candidates.add(zonedInstant(today.year, today.month, today.day + d, toMinute(s.start), timeZone));
      }
      for (const e of exceptionsOf.all(estate, at)) candidates.add(e.kind === 'on' ? e.from : e.to);
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
