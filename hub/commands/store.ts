import type { Kysely, Selectable } from 'kysely';
import type { Command, CommandResult } from '../../protocol/index.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import type { CommandState, CommandsTable } from '../platform/db/schema-commands.js';

export type { CommandState };

/** One command the hub sent, with its state and the gateway's answer (or the hub's giving up). */
export interface CommandRecord {
  id: string;
  estate: string;
  gateway: string;
  device: string;
  name: string;
  args: Record<string, unknown>;
  actor: Command['actor'];
  issuedAt: number;
  expiresAt: number;
  /** `sent` until the first answer (`ok`/`error`), the expiry sweep (`expired`), or a publish that sent nothing (`error`, the hub's code). */
  state: CommandState;
  code: string | null;
  result: CommandResult | null;
  finishedAt: number | null;
}

export interface CommandChange {
  record: CommandRecord;
  /** False when the command had an outcome already (a re-delivered or duplicate answer). */
  changed: boolean;
}

type Trx = Kysely<Schema>;

export interface CommandStore {
  /** Record a command about to be published; false when its id is there already (a re-send). */
  create(estate: string, gateway: string, command: Command, trx?: Trx): Promise<boolean>;
  /** The gateway's answer: the first one decides the state; later ones change nothing. Undefined for an id the hub never sent. */
  finish(estate: string, result: CommandResult, at: number, trx?: Trx): Promise<CommandChange | undefined>;
  /**
   * A command the hub recorded but could not send (the publish failed for sure): `error` with the
   * hub's code at once, if it is still `sent`. Undefined when it is not (answered, expired, unknown).
   */
  fail(id: string, code: string, at: number, trx?: Trx): Promise<CommandRecord | undefined>;
  /** Commands still `sent` whose expiry is at or before `deadline`: marked `expired` (RB_ERR_COMMAND_TIMEOUT), oldest first. */
  expire(deadline: number, at: number, limit?: number, trx?: Trx): Promise<CommandRecord[]>;
  get(id: string): Promise<CommandRecord | undefined>;
  /** Those of `ids` that are no longer `sent` (answered or expired), in one query. */
  settled(ids: readonly string[]): Promise<CommandRecord[]>;
  /** An estate's commands, newest first; `before` is an issuedAt to page on. */
  list(q: { estate: string; limit?: number; before?: number }): Promise<CommandRecord[]>;
  /** Delete finished commands issued before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

const toRecord = (r: Selectable<CommandsTable>): CommandRecord => ({
  id: r.id,
  estate: r.estate,
  gateway: r.gateway,
  device: r.device,
  name: r.name,
  args: JSON.parse(r.args) as Record<string, unknown>,
  actor: JSON.parse(r.actor) as Command['actor'],
  issuedAt: Number(r.issued_at),
  expiresAt: Number(r.expires_at),
  state: r.state,
  code: r.code,
  result: r.result === null ? null : (JSON.parse(r.result) as CommandResult),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

export const COMMAND_TIMEOUT = 'RB_ERR_COMMAND_TIMEOUT';

/**
 * The commands table (migration 0007): written when a command is sent, finished by the first answer
 * that comes back through the event log, or expired by the sweep. Every update is guarded by
 * `state = 'sent'`, so two writers (a late answer and the sweep, two hub processes) settle a command
 * once.
 */
export function createCommandStore(hubDb: HubDatabase): CommandStore {
  const { db } = hubDb;
  return {
    async create(estate, gateway, c, trx = db) {
      const rows = await trx
        .insertInto('commands')
        .values({
          id: c.id,
          estate,
          gateway,
          device: c.device,
          name: c.name,
          args: JSON.stringify(c.args ?? {}),
          actor: JSON.stringify(c.actor),
          issued_at: c.issuedAt,
          expires_at: c.expiresAt,
          state: 'sent',
          code: null,
          result: null,
          finished_at: null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      return rows.length === 1;
    },
    async finish(estate, result, at, trx = db) {
      const updated = await trx
        .updateTable('commands')
        .set({ state: result.status, code: result.code ?? null, result: JSON.stringify(result), finished_at: at })
        .where('id', '=', result.id)
        .where('estate', '=', estate)
        .where('state', '=', 'sent')
        .returningAll()
        .executeTakeFirst();
      if (updated) return { record: toRecord(updated), changed: true };
      const row = await trx.selectFrom('commands').selectAll().where('id', '=', result.id).where('estate', '=', estate).executeTakeFirst();
      return row ? { record: toRecord(row), changed: false } : undefined;
    },
    async fail(id, code, at, trx = db) {
      const row = await trx
        .updateTable('commands')
        .set({ state: 'error', code, finished_at: at })
        .where('id', '=', id)
        .where('state', '=', 'sent')
        .returningAll()
        .executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
    async expire(deadline, at, limit = 500, trx = db) {
      const due = await trx
        .selectFrom('commands')
        .select('id')
        .where('state', '=', 'sent')
        .where('expires_at', '<=', deadline)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      if (due.length === 0) return [];
      const rows = await trx
        .updateTable('commands')
        .set({ state: 'expired', code: COMMAND_TIMEOUT, finished_at: at })
        .where(
          'id',
          'in',
          due.map((d) => d.id),
        )
        .where('state', '=', 'sent')
        .returningAll()
        .execute();
      return rows.map(toRecord).sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
    },
    async get(id) {
      const row = await db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
    async settled(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('commands').selectAll().where('id', 'in', [...ids]).where('state', '!=', 'sent').execute();
      return rows.map(toRecord);
    },
    async list(q) {
      let query = db.selectFrom('commands').selectAll().where('estate', '=', q.estate);
      if (q.before !== undefined) query = query.where('issued_at', '<', q.before);
      const rows = await query
        .orderBy('issued_at', 'desc')
        .orderBy('id', 'desc')
        .limit(Math.min(q.limit ?? 50, 500))
        .execute();
      return rows.map(toRecord);
    },
    async prune(before) {
      const r = await db.deleteFrom('commands').where('issued_at', '<', before).where('state', '!=', 'sent').executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
