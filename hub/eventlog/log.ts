import type { Logger } from 'pino';
import { jsonText } from '../../lib/json-text.js';
import { CompiledQuery, sql, type Transaction } from 'kysely';
import type { HubDatabase } from '../platform/db/index.js';
import type { Schema } from '../platform/db/schema.js';
import type { LogKind } from '../platform/db/schema-events.js';
import { partitionOf } from '../cluster/partition.js';

/** Rows per INSERT statement (6 parameters a row: far below both engines' parameter limits). */
const CHUNK = 256;
/** Cursors per upsert (3 parameters each). */
const CURSORS_PER_STATEMENT = 300;

export type DeliveredKind = Exclude<LogKind, 'seen'>;

/** What a producer appends. `key` decides duplicates: the event id for events. */
export interface LogEntryInput {
  key: string;
  kind: DeliveredKind;
  estate: string;
  body: unknown;
}

/** A committed entry, at its position. */
export interface LogEntry {
  pos: number;
  /** The partition of `estate` (hub/cluster/partition.ts). */
  part: number;
  key: string;
  kind: DeliveredKind;
  estate: string;
  at: number;
  body: unknown;
}

export interface LogRetention {
  /** Entries kept at least (newest first); older ones go once every consumer is past them. Default 200,000 (the old dedup window). */
  maxRows?: number;
  /** Entries older than this go once every consumer is past them. Default 30 days. */
  maxAgeMs?: number;
  /** Past this many entries the oldest go even if a consumer has not read them (logged, counted). Default 4 × maxRows. */
  hardCapRows?: number;
}

export interface PruneResult {
  /** Entries deleted. */
  deleted: number;
  /** Of those, entries some consumer had not reached (only over the hard cap). */
  forced: number;
}

/**
 * The durable event log (issue 16, item 2), a repository on the hub database (table `event_log`).
 * Ingest appends what it accepts (events, gateway statuses, connection changes, snapshot links,
 * command results); the INSERT of an entry whose key is already there does nothing, and that is how
 * duplicates are decided, in the same transaction that stores the event. Consumers keep a cursor
 * (table `log_cursors`): the last position they have handled. Positions increase with commit order
 * as long as one writer appends at a time (hub/eventlog/feed.ts serialises its appends).
 */
/** What a clustered append returns: the new entries, and each touched partition's head before them. */
export interface PartitionedAppend {
  fresh: LogEntry[];
  /** Partition → its newest position before this append (what an owner must have delivered to take these from memory). */
  before: Map<number, number>;
}

export interface EventLog {
  /**
   * Append in one transaction (the caller's `trx`, or a new one). Returns the entries that are new,
   * with their positions, in position order; a key already in the log (or twice in `entries`) is a
   * duplicate and is left out.
   */
  append(entries: readonly LogEntryInput[], trx?: Transaction<Schema>): Promise<LogEntry[]>;
  /**
   * The cluster's append (PostgreSQL), in the caller's transaction: lock the `log_heads` rows of the
   * entries' partitions (in order) before taking positions, append, move the heads, and NOTIFY
   * `rb_log` with `node|parts` (heard after COMMIT). Within a partition, positions then follow commit
   * order across every node, which is what lets an owner read a partition by cursor.
   */
  appendPartitioned(entries: readonly LogEntryInput[], trx: Transaction<Schema>, node: string): Promise<PartitionedAppend>;
  /** Entries after `pos`, oldest first, at most `limit` (keys imported from a legacy dedup window are never returned). */
  read(after: number, limit: number): Promise<LogEntry[]>;
  /**
   * PostgreSQL: the entries of several partitions, each after its own position, oldest first, at
   * most `limit` in all (one query where a partition each would be one round trip each). A full
   * page ending at position P holds every entry of these partitions up to P.
   */
  readParts(after: ReadonlyMap<number, number>, limit: number): Promise<LogEntry[]>;
  /** Each partition's newest position (`log_heads`). */
  heads(parts: readonly number[]): Promise<Map<number, number>>;
  /** The newest position (0 when the log is empty). */
  head(): Promise<number>;
  count(): Promise<number>;
  cursors(): Promise<Map<string, number>>;
  /** Store cursors (one transaction); a cursor never moves back. */
  saveCursors(cursors: ReadonlyMap<string, number>): Promise<void>;
  /** Move one consumer's cursor forward (never back) inside a caller's transaction: the consumer's output and its cursor commit together. */
  saveCursorIn(trx: Transaction<Schema>, consumer: string, pos: number): Promise<void>;
  /** Move many cursors forward (never back) inside a caller's transaction, in one statement per 300 of them. */
  saveCursorsIn(trx: Transaction<Schema>, cursors: ReadonlyMap<string, number>): Promise<void>;
  /** Keys only (imported from a legacy `dedup.db`): duplicates from then on, never delivered. Returns how many were new. */
  seed(keys: readonly string[], at: number, trx?: Transaction<Schema>): Promise<number>;
  /** Apply the retention; `now` for tests. */
  prune(now?: number): Promise<PruneResult>;
}

export interface EventLogOptions {
  db: HubDatabase;
  retention?: LogRetention;
  log?: Logger;
}

type Row = { pos: number; id: string; kind: LogKind; estate: string; at: number; body: string; part: number };
const toEntry = (r: Row): LogEntry => ({ pos: Number(r.pos), part: r.part, key: r.id, kind: r.kind as DeliveredKind, estate: r.estate, at: r.at, body: JSON.parse(r.body) as unknown });

export function createEventLog(opts: EventLogOptions): EventLog {
  const { db: hubDb } = opts;
  /** Upsert that only moves forward: two writers of one cursor (a batch commit and a save) never take it back. */
  // One statement for many cursors: a cluster node moves a cursor per consumer and partition (up
  // to 64 × its consumers every commit), and a round trip each was most of its cost over the
  // embedded hub's.
  async function saveCursorsIn(trx: Transaction<Schema>, cursors: ReadonlyMap<string, number>): Promise<void> {
    const at = Date.now();
    const rows = [...cursors].map(([consumer, pos]) => ({ consumer, pos, at }));
    for (let i = 0; i < rows.length; i += CURSORS_PER_STATEMENT) {
      await trx
        .insertInto('log_cursors')
        .values(rows.slice(i, i + CURSORS_PER_STATEMENT))
        .onConflict((oc) =>
          oc
            .column('consumer')
            .doUpdateSet({ pos: (eb) => eb.ref('excluded.pos'), at: (eb) => eb.ref('excluded.at') })
            .whereRef('log_cursors.pos', '<', 'excluded.pos'),
        )
        .execute();
    }
  }
  const saveCursorIn = (trx: Transaction<Schema>, consumer: string, pos: number): Promise<void> => saveCursorsIn(trx, new Map([[consumer, pos]]));
  const maxRows = opts.retention?.maxRows ?? 200_000;
  const maxAgeMs = opts.retention?.maxAgeMs ?? 30 * 86_400_000;
  const hardCapRows = opts.retention?.hardCapRows ?? maxRows * 4;
  if (!(maxRows >= 1 && hardCapRows >= maxRows)) throw new RangeError(`log retention: need 1 <= maxRows <= hardCapRows, got ${maxRows}, ${hardCapRows}`);

  // The INSERT of n rows, compiled by kysely once per n and run with new parameters: building and
  // compiling a 1,000-parameter query per batch cost more than running it.
  const texts = new Map<number, string>();
  function insertText(trx: Transaction<Schema>, n: number): string {
    let text = texts.get(n);
    if (text === undefined) {
      const blank = { id: '', kind: 'event' as const, estate: '', at: 0, body: '', part: 0 };
      text = trx
        .insertInto('event_log')
        .values(Array.from({ length: n }, () => blank))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning(['pos', 'id'])
        .compile().sql;
      texts.set(n, text);
    }
    return text;
  }

  /**
   * PostgreSQL: the whole batch in one statement of constant text, its columns as arrays (unnest),
   * so a batch costs one round trip however many rows it has (instead of one per power-of-two
   * chunk), and the server parses five parameters instead of five per row. unnest yields the rows
   * in array order, so positions follow it as with the VALUES list.
   */
  const PG_INSERT_ROWS =
    'insert into "event_log" ("id", "kind", "estate", "at", "body", "part") ' +
    'select "id", "kind", "estate", $4::bigint, "body", "part" from unnest($1::text[], $2::text[], $3::text[], $5::text[], $6::integer[]) as r("id", "kind", "estate", "body", "part") ' +
    'on conflict ("id") do nothing';
  const PG_INSERT = `${PG_INSERT_ROWS} returning "pos", "id"`;

  /**
   * The cluster's append (appendPartitioned), after it locked the partitions' heads: the INSERT above,
   * each touched partition's head moved to its newest new position, and `NOTIFY rb_log` with
   * `node|parts` (heard after COMMIT), in one statement: one round trip a batch instead of three.
   * Nothing new (every entry a duplicate): no head moves and nothing is notified.
   */
  const PG_INSERT_PARTITIONED =
    `with "ins" as (${PG_INSERT_ROWS} returning "pos", "id", "part"), ` +
    '"moved" as (update "log_heads" as h set "head" = m."head" from (select "part", max("pos") as "head" from "ins" group by "part") as m where h."part" = m."part" returning h."part") ' +
    'select i."pos", i."id", (select pg_notify(\'rb_log\', $7::text || \'|\' || string_agg("part"::text, \',\' order by "part")) from "moved") as "notified" ' +
    'from "ins" as i order by i."pos"';

  /** INSERT the rows (at most CHUNK a statement on SQLite, one on PostgreSQL); returns the positions of those that were new, by key. */
  async function insert(trx: Transaction<Schema>, keys: readonly string[], kinds: readonly string[], estates: readonly string[], at: number, bodies: readonly string[], parts: readonly number[], node?: string): Promise<Map<string, number>> {
    const fresh = new Map<string, number>();
    const count = keys.length;
    if (hubDb.dialect === 'postgres') {
      if (count === 0) return fresh;
      const [text, params] = node === undefined ? [PG_INSERT, [keys, kinds, estates, at, bodies, parts]] : [PG_INSERT_PARTITIONED, [keys, kinds, estates, at, bodies, parts, node]];
      const returned = await trx.executeQuery(CompiledQuery.raw(text, params) as CompiledQuery<{ pos: number; id: string }>);
      for (const r of returned.rows) fresh.set(r.id, Number(r.pos));
      return fresh;
    }
    for (let from = 0; from < count; ) {
      // Statements of power-of-two sizes (145 rows: 128 + 16 + 1): nine statement texts in all, each
      // prepared once (hub/platform/db/open.ts caches them), and no row sent twice.
      const left = count - from;
      const n = left >= CHUNK ? CHUNK : 2 ** Math.floor(Math.log2(left));
      // Parameters in the column order of the compiled text (id, kind, estate, at, body, part).
      const params: unknown[] = new Array<unknown>(n * 6);
      for (let i = 0, k = 0; i < n; i++) {
        const j = from + i;
        params[k++] = keys[j];
        params[k++] = kinds[j];
        params[k++] = estates[j];
        params[k++] = at;
        params[k++] = bodies[j];
        params[k++] = parts[j];
      }
      const returned = await trx.executeQuery(CompiledQuery.raw(insertText(trx, n), params) as CompiledQuery<{ pos: number; id: string }>);
      for (const r of returned.rows) fresh.set(r.id, Number(r.pos));
      from += n;
    }
    return fresh;
  }

  /** `entries` without a second copy of a key (ingest's batches have none: then no copy is made). */
  function uniqueByKey(entries: readonly LogEntryInput[]): readonly LogEntryInput[] {
    const keys = new Set<string>();
    for (let i = 0; i < entries.length; i++) {
      const key = entries[i]!.key;
      if (keys.has(key)) {
        const seen = new Set<string>();
        return entries.filter((e) => (seen.has(e.key) ? false : (seen.add(e.key), true)));
      }
      keys.add(key);
    }
    return entries;
  }

  /** `node`: a cluster node's append (PostgreSQL, heads locked): the heads move and NOTIFY go with the INSERT. */
  async function append(input: readonly LogEntryInput[], trx: Transaction<Schema>, node?: string): Promise<LogEntry[]> {
    if (input.length === 0) return [];
    const at = Date.now();
    const entries = input.length > 1 ? uniqueByKey(input) : input;
    const n = entries.length;
    const keys = new Array<string>(n);
    const kinds = new Array<string>(n);
    const estates = new Array<string>(n);
    const bodies = new Array<string>(n);
    const parts = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      keys[i] = e.key;
      kinds[i] = e.kind;
      estates[i] = e.estate;
      bodies[i] = jsonText(e.body);
      parts[i] = partitionOf(e.estate);
    }
    const fresh = await insert(trx, keys, kinds, estates, at, bodies, parts, node);
    const out: LogEntry[] = [];
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      const pos = fresh.get(e.key);
      if (pos !== undefined) out.push({ pos, part: parts[i]!, key: e.key, kind: e.kind, estate: e.estate, at, body: e.body });
    }
    // RETURNING gives the rows in insertion order on both engines; sorted anyway, cheaply, to be sure.
    for (let i = 1; i < out.length; i++) {
      if (out[i - 1]!.pos > out[i]!.pos) {
        out.sort((a, b) => a.pos - b.pos);
        break;
      }
    }
    return out;
  }

  /**
   * The newest position appended before `cutoff`. `at` grows with `pos` (appends are serialised and
   * stamped at append), so a binary search over positions finds it with ~20 primary-key reads and
   * `at` needs no index of its own (one index fewer to update per event). Were the clock to step
   * back, the age bound is only approximate; the count bound and the cursors still hold.
   */
  async function newestBefore(trx: Transaction<Schema>, cutoff: number): Promise<number> {
    const first = await trx.selectFrom('event_log').select(['pos', 'at']).orderBy('pos').limit(1).executeTakeFirst();
    if (!first || Number(first.at) >= cutoff) return 0;
    let lo = Number(first.pos); // at < cutoff
    let hi = Number((await trx.selectFrom('event_log').select((eb) => eb.fn.max('pos').as('pos')).executeTakeFirstOrThrow()).pos) + 1;
    // lo: a position stamped before the cutoff; every row at or past hi is stamped at or after it.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const row = await trx.selectFrom('event_log').select(['pos', 'at']).where('pos', '>=', mid).orderBy('pos').limit(1).executeTakeFirst();
      if (row && Number(row.pos) < hi && Number(row.at) < cutoff) lo = Number(row.pos);
      else hi = mid;
    }
    return lo;
  }

  return {
    append: (entries, trx) => (trx ? append(entries, trx) : hubDb.transaction((t) => append(entries, t))),

    async appendPartitioned(entries, trx, node) {
      const parts = [...new Set(entries.map((e) => partitionOf(e.estate)))].sort((a, b) => a - b);
      // Locked in partition order (two appends never wait on each other in a cycle), before any position is taken.
      const locked = await trx.selectFrom('log_heads').select(['part', 'head']).where('part', 'in', parts).orderBy('part').forUpdate().execute();
      const before = new Map(locked.map((r) => [r.part, Number(r.head)]));
      const fresh = await append(entries, trx, node);
      return { fresh, before };
    },

    async readParts(after, limit) {
      if (after.size === 0) return [];
      // Each partition's first `limit` entries by its (part, pos) index, then the first `limit` of
      // those: a partition far behind (a take-over's backlog) costs a page, not its whole backlog.
      const { rows } = await sql<Row>`
        SELECT e.pos, e.id, e.kind, e.estate, e.at, e.body, e.part
        FROM unnest(${[...after.keys()]}::int[], ${[...after.values()]}::bigint[]) AS c(part, after)
        CROSS JOIN LATERAL (
          SELECT pos, id, kind, estate, at, body, part FROM event_log
          WHERE part = c.part AND pos > c.after AND kind <> 'seen'
          ORDER BY pos LIMIT ${limit}
        ) e
        ORDER BY e.pos
        LIMIT ${limit}`.execute(hubDb.db);
      return rows.map(toEntry);
    },

    async heads(parts) {
      if (parts.length === 0) return new Map();
      const rows = await hubDb.db.selectFrom('log_heads').select(['part', 'head']).where('part', 'in', parts).execute();
      return new Map(rows.map((r) => [r.part, Number(r.head)]));
    },

    async read(after, limit) {
      const rows = await hubDb.db
        .selectFrom('event_log')
        .select(['pos', 'id', 'kind', 'estate', 'at', 'body', 'part'])
        .where('pos', '>', after)
        .where('kind', '!=', 'seen')
        .orderBy('pos')
        .limit(limit)
        .execute();
      return rows.map(toEntry);
    },

    async head() {
      const r = await hubDb.db.selectFrom('event_log').select((eb) => eb.fn.max('pos').as('pos')).executeTakeFirst();
      return Number(r?.pos ?? 0);
    },

    async count() {
      const r = await hubDb.db.selectFrom('event_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },

    async cursors() {
      const rows = await hubDb.db.selectFrom('log_cursors').select(['consumer', 'pos']).execute();
      return new Map(rows.map((r) => [r.consumer, Number(r.pos)]));
    },

    async saveCursors(cursors) {
      if (cursors.size === 0) return;
      await hubDb.transaction((trx) => saveCursorsIn(trx, cursors));
    },
    saveCursorIn,
    saveCursorsIn,

    async seed(keys, at, trx) {
      const run = async (t: Transaction<Schema>): Promise<number> => (await insert(t, keys, keys.map(() => 'seen'), keys.map(() => ''), at, keys.map(() => ''), keys.map(() => 0))).size;
      return trx ? run(trx) : hubDb.transaction(run);
    },

    async prune(now = Date.now()) {
      return hubDb.transaction(async (trx) => {
        // The newest position past the kept rows (by count), and past the kept age.
        const byCount = await trx.selectFrom('event_log').select('pos').orderBy('pos', 'desc').limit(1).offset(maxRows).executeTakeFirst();
        const byAge = await newestBefore(trx, now - maxAgeMs);
        let upTo = Math.max(Number(byCount?.pos ?? 0), byAge);
        // Never past the slowest consumer's cursor…
        const slowest = await trx.selectFrom('log_cursors').select((eb) => eb.fn.min('pos').as('pos')).executeTakeFirst();
        if (slowest?.pos !== null && slowest?.pos !== undefined) upTo = Math.min(upTo, Number(slowest.pos));
        let deleted = 0;
        if (upTo > 0) deleted = Number((await trx.deleteFrom('event_log').where('pos', '<=', upTo).executeTakeFirst()).numDeletedRows);
        // …unless the log is over its hard cap: then the oldest go anyway.
        let forced = 0;
        const cap = await trx.selectFrom('event_log').select('pos').orderBy('pos', 'desc').limit(1).offset(hardCapRows).executeTakeFirst();
        if (cap) {
          forced = Number((await trx.deleteFrom('event_log').where('pos', '<=', Number(cap.pos)).executeTakeFirst()).numDeletedRows);
          opts.log?.warn({ forced, hardCapRows, slowestCursor: slowest?.pos ?? null }, 'event log over its hard cap: entries deleted before every consumer read them');
        }
        return { deleted: deleted + forced, forced };
      });
    },
  };
}
