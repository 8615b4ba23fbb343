import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { HubDatabase, Schema } from '../platform/db/index.js';

/**
 * How the processes that write people tell each other (the hub, the admin CLI's `hub user passwd`,
 * later other hub nodes on one PostgreSQL): every write appends a row to `people_changes` in its own
 * transaction, and each process polls for rows of other origins. This replaces people.db's
 * `PRAGMA data_version`, which only SQLite has.
 *
 * The poll is `id > cursor OR at > now - window`, not `id > cursor` alone: on PostgreSQL an identity
 * value is taken at INSERT and committed later, so two writers can commit ids out of order, and a
 * reader that already moved its cursor past the later id would never see the earlier one. Rows in
 * the window are read again and skipped by id; a commit later than `windowMs` after its insert (no
 * people transaction is anywhere near that long) is the one case this misses. An idle poll reads
 * the window's rows only: a handful.
 */
/** `contacts`: contact points, policies or group robots (hub/notify/contacts.ts). */
export type ChangeKind = 'user' | 'sign-out' | 'roster' | 'contacts';
export interface Change {
  kind: ChangeKind;
  userId: string | null;
}

export interface PeopleChanges {
  /** This process's id in the journal. */
  readonly origin: string;
  /** Append a change to the writer's transaction (and drop journal rows older than a day). */
  record(trx: Transaction<Schema>, kind: ChangeKind, userId: string | null): Promise<void>;
  /** Remember what is in the journal now (not reported), then poll every `pollMs`. */
  start(): Promise<void>;
  /** Look for changes of other processes now (what the timer does). */
  poll(): Promise<void>;
  stop(): void;
}

export interface PeopleChangesDeps {
  db: HubDatabase;
  /** Called with the changes other processes committed since the last poll, oldest first. */
  onChanges: (changes: Change[]) => Promise<void> | void;
  /** Default 1000 ms: how soon a sign-out by the CLI reaches the hub's sockets. */
  pollMs?: number;
  windowMs?: number;
  onError?: (err: unknown) => void;
}

const KEEP_MS = 86_400_000;

export function createPeopleChanges(deps: PeopleChangesDeps): PeopleChanges {
  const { db } = deps.db;
  const origin = randomBytes(8).toString('hex');
  const pollMs = deps.pollMs ?? 1000;
  const windowMs = deps.windowMs ?? 60_000;
  /** Ids read already, with their `at`, while they can still come back through the window. */
  const seen = new Map<number, number>();
  let cursor = 0;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  async function read(): Promise<Array<{ id: number; at: number; origin: string; kind: ChangeKind; user_id: string | null }>> {
    const since = Date.now() - windowMs;
    for (const [id, at] of seen) if (at <= since) seen.delete(id);
    return db
      .selectFrom('people_changes')
      .select(['id', 'at', 'origin', 'kind', 'user_id'])
      .where((eb) => eb.or([eb('id', '>', cursor), eb('at', '>', since)]))
      .orderBy('id')
      .execute();
  }

  async function pollOnce(): Promise<void> {
    const fresh: Change[] = [];
    for (const r of await read()) {
      if (seen.has(r.id)) continue;
      seen.set(r.id, r.at);
      if (r.id > cursor) cursor = r.id;
      if (r.origin !== origin) fresh.push({ kind: r.kind, userId: r.user_id });
    }
    if (fresh.length > 0) await deps.onChanges(fresh);
  }

  const poll = (): Promise<void> => {
    // One poll at a time: a slow one (a busy PostgreSQL) is joined, not stacked.
    polling ??= pollOnce().finally(() => {
      polling = undefined;
    });
    return polling;
  };

  return {
    origin,
    async record(trx, kind, userId) {
      const at = Date.now();
      await trx.insertInto('people_changes').values({ at, origin, kind, user_id: userId }).execute();
      await trx.deleteFrom('people_changes').where('at', '<', at - KEEP_MS).execute();
    },
    async start() {
      const since = Date.now() - windowMs;
      const max = await db.selectFrom('people_changes').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
      cursor = Number(max?.id ?? 0);
      for (const r of await db.selectFrom('people_changes').select(['id', 'at']).where('at', '>', since).execute()) seen.set(r.id, r.at);
      timer = setInterval(() => {
        poll().catch((err: unknown) => deps.onError?.(err));
      }, pollMs);
      timer.unref();
    },
    poll,
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
