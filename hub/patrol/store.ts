import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { PatrolCheckpointView, PatrolHistoryItem, PatrolPointView, PatrolRoundPoint, PatrolRoundView, PatrolRunView } from '../../protocol/patrol.js';
import { RbError } from '../errors.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import type { PatrolRunTable, PatrolScanTable } from '../platform/db/schema-patrol.js';
import { dueAt, pointState, randomCode, runId, runState } from './schedule.js';

/**
 * Patrol rounds in the hub database (tables of hub/platform/db/schema-patrol.ts): checkpoints,
 * rounds, and the runs with one row per checkpoint (scanned, late, or missed). Both engines.
 */

export interface CheckpointInput {
  estate: string;
  name: string;
  location: string;
}
export interface RoundInput {
  estate: string;
  name: string;
  points: PatrolRoundPoint[];
  starts: string[];
  windowMinutes: number;
  enabled: boolean;
}

type Checkpoint = Required<PatrolCheckpointView>;
type RunRow = PatrolRunTable;
type ScanRow = PatrolScanTable;

const newId = (prefix: string): string => `${prefix}-${randomCode(randomBytes(10), 10).toLowerCase()}`;
/** 12 characters of base32 from 12 random bytes: 60 bits, not guessable from another checkpoint's code. */
const newCode = (): string => randomCode(randomBytes(12), 12);

const checkpointOf = (r: Schema['patrol_checkpoints']): Checkpoint => ({ id: r.id, estate: r.estate, name: r.name, location: r.location, code: r.code, createdAt: r.created_at, updatedAt: r.updated_at });

export function createPatrolStore(hubDb: HubDatabase) {
  const { db } = hubDb;

  async function roundOf(r: Schema['patrol_rounds']): Promise<PatrolRoundView> {
    const points = JSON.parse(r.points) as PatrolRoundPoint[];
    const names = new Map((await checkpointsByIds(points.map((p) => p.checkpoint))).map((c) => [c.id, c.name]));
    return {
      id: r.id, estate: r.estate, name: r.name, starts: JSON.parse(r.starts) as string[], windowMinutes: r.window_minutes, enabled: r.enabled === 1,
      points: points.map((p) => ({ ...p, name: names.get(p.checkpoint) ?? p.checkpoint })), createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }
  async function checkpointsByIds(ids: string[]): Promise<Checkpoint[]> {
    if (ids.length === 0) return [];
    return (await db.selectFrom('patrol_checkpoints').selectAll().where('id', 'in', ids).execute()).map(checkpointOf);
  }
  /** Every checkpoint of a round must be a checkpoint of the round's estate. */
  async function checkPoints(estate: string, points: PatrolRoundPoint[], windowMinutes: number): Promise<void> {
    const found = new Map((await checkpointsByIds(points.map((p) => p.checkpoint))).map((c) => [c.id, c]));
    for (const [i, p] of points.entries()) {
      const c = found.get(p.checkpoint);
      if (!c || c.estate !== estate) throw new RbError('RB_ERR_BAD_BODY', `points.${i}: no checkpoint ${p.checkpoint} in estate ${estate}`);
      if (p.dueMinutes !== undefined && p.dueMinutes > windowMinutes) throw new RbError('RB_ERR_BAD_BODY', `points.${i}.dueMinutes: ${p.dueMinutes} is after the window of ${windowMinutes} minutes`);
    }
  }

  function runView(run: RunRow, scans: ScanRow[], now: number): PatrolRunView {
    const facts = scans.map((s) => ({ scannedAt: s.scanned_at, late: s.late === 1, missedAt: s.missed_at }));
    const points: PatrolPointView[] = scans.map((s, i) => ({
      checkpoint: s.checkpoint, seq: s.seq, name: s.checkpoint_name, location: s.location, dueAt: s.due_at, state: pointState(facts[i]!),
      ...(s.scanned_at !== null ? { scannedAt: s.scanned_at } : {}),
      ...(s.user_id ? { userId: s.user_id } : {}),
      ...(s.user_name ? { userName: s.user_name } : {}),
      ...(s.missed_at !== null ? { missedAt: s.missed_at } : {}),
    }));
    const state = runState(run.starts_at, run.ends_at, facts, now);
    const next = state === 'upcoming' || state === 'active' ? scans.find((s) => s.scanned_at === null)?.checkpoint : undefined;
    return { id: run.id, round: run.round_id, roundName: run.round_name, estate: run.estate, startsAt: run.starts_at, endsAt: run.ends_at, state, points, ...(next ? { next } : {}) };
  }
  async function withScans(runs: RunRow[], now: number): Promise<PatrolRunView[]> {
    if (runs.length === 0) return [];
    const scans = await db.selectFrom('patrol_scans').selectAll().where('run_id', 'in', runs.map((r) => r.id)).orderBy('seq').execute();
    const by = new Map<string, ScanRow[]>();
    for (const s of scans) by.set(s.run_id, [...(by.get(s.run_id) ?? []), s]);
    return runs.map((r) => runView(r, by.get(r.id) ?? [], now));
  }

  return {
    async listCheckpoints(estates: string[] | undefined): Promise<Checkpoint[]> {
      let q = db.selectFrom('patrol_checkpoints').selectAll().orderBy('estate').orderBy('name').orderBy('id');
      if (estates) {
        if (estates.length === 0) return [];
        q = q.where('estate', 'in', estates);
      }
      return (await q.execute()).map(checkpointOf);
    },
    async checkpoint(id: string): Promise<Checkpoint | undefined> {
      const r = await db.selectFrom('patrol_checkpoints').selectAll().where('id', '=', id).executeTakeFirst();
      return r && checkpointOf(r);
    },
    async byCode(code: string): Promise<Checkpoint | undefined> {
      const r = await db.selectFrom('patrol_checkpoints').selectAll().where('code', '=', code).executeTakeFirst();
      return r && checkpointOf(r);
    },
    async addCheckpoint(input: CheckpointInput, now: number): Promise<Checkpoint> {
      const row = { id: newId('cp'), estate: input.estate, name: input.name, location: input.location, code: newCode(), created_at: now, updated_at: now };
      await db.insertInto('patrol_checkpoints').values(row).execute();
      return checkpointOf(row);
    },
    /** Rename, move, or (`newCode`) print a new code: the old QR stops working. */
    async updateCheckpoint(id: string, patch: { name?: string | undefined; location?: string | undefined; newCode?: boolean | undefined }, now: number): Promise<Checkpoint> {
      await db
        .updateTable('patrol_checkpoints')
        .set({ updated_at: now, ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.location !== undefined ? { location: patch.location } : {}), ...(patch.newCode ? { code: newCode() } : {}) })
        .where('id', '=', id)
        .execute();
      return checkpointOf(await db.selectFrom('patrol_checkpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    },
    async removeCheckpoint(id: string): Promise<void> {
      const rounds = await db.selectFrom('patrol_rounds').select(['id', 'name', 'points']).execute();
      const using = rounds.filter((r) => (JSON.parse(r.points) as PatrolRoundPoint[]).some((p) => p.checkpoint === id));
      if (using.length > 0) throw new RbError('RB_ERR_CONFLICT', `checkpoint ${id} is part of the round ${using.map((r) => r.name).join(', ')}: take it out of the round first`);
      await db.deleteFrom('patrol_checkpoints').where('id', '=', id).execute();
    },

    async listRounds(estates: string[] | undefined): Promise<PatrolRoundView[]> {
      let q = db.selectFrom('patrol_rounds').selectAll().orderBy('estate').orderBy('name').orderBy('id');
      if (estates) {
        if (estates.length === 0) return [];
        q = q.where('estate', 'in', estates);
      }
      return Promise.all((await q.execute()).map(roundOf));
    },
    async round(id: string): Promise<PatrolRoundView | undefined> {
      const r = await db.selectFrom('patrol_rounds').selectAll().where('id', '=', id).executeTakeFirst();
      return r && roundOf(r);
    },
    async addRound(input: RoundInput, now: number): Promise<PatrolRoundView> {
      await checkPoints(input.estate, input.points, input.windowMinutes);
      const row = {
        id: newId('rd'), estate: input.estate, name: input.name, points: JSON.stringify(input.points), starts: JSON.stringify(input.starts),
        window_minutes: input.windowMinutes, enabled: input.enabled ? 1 : 0, created_at: now, updated_at: now,
      };
      await db.insertInto('patrol_rounds').values(row).execute();
      return roundOf(row);
    },
    /** A changed round: runs not started yet and never scanned are planned again from the new definition. */
    async updateRound(id: string, input: Omit<RoundInput, 'estate'>, estate: string, now: number): Promise<PatrolRoundView> {
      await checkPoints(estate, input.points, input.windowMinutes);
      await hubDb.transaction(async (trx) => {
        await trx
          .updateTable('patrol_rounds')
          .set({ name: input.name, points: JSON.stringify(input.points), starts: JSON.stringify(input.starts), window_minutes: input.windowMinutes, enabled: input.enabled ? 1 : 0, updated_at: now })
          .where('id', '=', id)
          .execute();
        await dropFutureRuns(trx, id, now);
      });
      return (await this.round(id))!;
    },
    async removeRound(id: string, now: number): Promise<void> {
      await hubDb.transaction(async (trx) => {
        await dropFutureRuns(trx, id, now);
        await trx.deleteFrom('patrol_rounds').where('id', '=', id).execute();
      });
    },

    /** Make the round's runs at these starts (with a row per checkpoint), unless they exist. Returns how many were new. */
    async ensureRuns(round: PatrolRoundView, starts: readonly number[]): Promise<number> {
      if (starts.length === 0) return 0;
      const cps = new Map((await checkpointsByIds(round.points.map((p) => p.checkpoint))).map((c) => [c.id, c]));
      let made = 0;
      await hubDb.transaction(async (trx) => {
        for (const startsAt of starts) {
          const id = runId(round.id, startsAt);
          const r = await trx
            .insertInto('patrol_runs')
            .values({ id, round_id: round.id, estate: round.estate, round_name: round.name, starts_at: startsAt, ends_at: startsAt + round.windowMinutes * 60_000 })
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!r) continue;
          made++;
          const rows = round.points.map((p, i) => ({
            run_id: id, checkpoint: p.checkpoint, estate: round.estate, seq: i + 1, checkpoint_name: cps.get(p.checkpoint)?.name ?? p.checkpoint,
            location: cps.get(p.checkpoint)?.location ?? '', due_at: dueAt(startsAt, round.windowMinutes, p.dueMinutes), scanned_at: null, user_id: null, user_name: null, late: 0, missed_at: null,
          }));
          if (rows.length > 0) await trx.insertInto('patrol_scans').values(rows).onConflict((oc) => oc.columns(['run_id', 'checkpoint']).doNothing()).execute();
        }
      });
      return made;
    },
    /** Starts the round already has at or after `from` (the service skips them). */
    async runStartsSince(roundId: string, from: number): Promise<Set<number>> {
      const rows = await db.selectFrom('patrol_runs').select('starts_at').where('round_id', '=', roundId).where('starts_at', '>=', from).execute();
      return new Set(rows.map((r) => r.starts_at));
    },

    /** Points not scanned and not yet reported missed whose deadline is at or before `now`, oldest first. */
    async overdue(now: number, limit = 500): Promise<Array<ScanRow & { round_id: string; round_name: string; starts_at: number }>> {
      return db
        .selectFrom('patrol_scans as s')
        .innerJoin('patrol_runs as r', 'r.id', 's.run_id')
        .selectAll('s')
        .select(['r.round_id', 'r.round_name', 'r.starts_at'])
        .where('s.scanned_at', 'is', null)
        .where('s.missed_at', 'is', null)
        .where('s.due_at', '<=', now)
        .orderBy('s.due_at')
        .limit(limit)
        .execute();
    },
    /** The earliest deadline after `now` of a point still open (the service's next wake). */
    async nextDue(now: number): Promise<number | null> {
      const r = await db.selectFrom('patrol_scans').select((eb) => eb.fn.min('due_at').as('at')).where('scanned_at', 'is', null).where('missed_at', 'is', null).where('due_at', '>', now).executeTakeFirst();
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
    /** Stamp a point missed in the transaction that appends its event (so it is stamped once). */
    async markMissed(trx: Transaction<Schema>, run: string, checkpoint: string, at: number): Promise<void> {
      await trx.updateTable('patrol_scans').set({ missed_at: at }).where('run_id', '=', run).where('checkpoint', '=', checkpoint).where('missed_at', 'is', null).execute();
    },

    /** Runs of these estates starting in `[from, to)`, or still on at `from`. */
    async runs(estates: string[] | undefined, from: number, to: number, now: number, round?: string): Promise<PatrolRunView[]> {
      let q = db.selectFrom('patrol_runs').selectAll().where('starts_at', '<', to).where('ends_at', '>=', from).orderBy('starts_at').orderBy('id').limit(1000);
      if (estates) {
        if (estates.length === 0) return [];
        q = q.where('estate', 'in', estates);
      }
      if (round) q = q.where('round_id', '=', round);
      return withScans(await q.execute(), now);
    },
    async run(id: string, now: number): Promise<PatrolRunView | undefined> {
      const r = await db.selectFrom('patrol_runs').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? (await withScans([r], now))[0] : undefined;
    },
    /** Open points of this checkpoint in runs started by `now` and not over `graceMs` after their end: the earliest due first. */
    async scanCandidates(checkpoint: string, now: number, graceMs: number): Promise<Array<ScanRow & { ends_at: number }>> {
      return db
        .selectFrom('patrol_scans as s')
        .innerJoin('patrol_runs as r', 'r.id', 's.run_id')
        .selectAll('s')
        .select('r.ends_at')
        .where('s.checkpoint', '=', checkpoint)
        .where('r.starts_at', '<=', now)
        .where('r.ends_at', '>=', now - graceMs)
        .orderBy('s.due_at')
        .execute();
    },
    /** Record a scan once: a second scan of the same point changes nothing (false). */
    async recordScan(run: string, checkpoint: string, at: number, late: boolean, user: { id: string; name: string }): Promise<boolean> {
      const r = await db
        .updateTable('patrol_scans')
        .set({ scanned_at: at, late: late ? 1 : 0, user_id: user.id, user_name: user.name })
        .where('run_id', '=', run)
        .where('checkpoint', '=', checkpoint)
        .where('scanned_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /** Scans, newest first: of one person, or everyone's in these estates. */
    async history(q: { estates: string[] | undefined; user?: string | undefined; before?: number | undefined; limit: number }): Promise<PatrolHistoryItem[]> {
      let s = db
        .selectFrom('patrol_scans as s')
        .innerJoin('patrol_runs as r', 'r.id', 's.run_id')
        .select(['s.run_id', 's.checkpoint', 's.checkpoint_name', 's.scanned_at', 's.due_at', 's.late', 's.user_id', 's.user_name', 's.estate', 'r.round_id', 'r.round_name'])
        .where('s.scanned_at', 'is not', null)
        .orderBy('s.scanned_at', 'desc')
        .limit(q.limit);
      if (q.estates) {
        if (q.estates.length === 0) return [];
        s = s.where('s.estate', 'in', q.estates);
      }
      if (q.user) s = s.where('s.user_id', '=', q.user);
      if (q.before !== undefined) s = s.where('s.scanned_at', '<', q.before);
      return (await s.execute()).map((r) => ({
        run: r.run_id, round: r.round_id, roundName: r.round_name, estate: r.estate, checkpoint: r.checkpoint, name: r.checkpoint_name,
        scannedAt: Number(r.scanned_at), dueAt: r.due_at, late: r.late === 1, userId: r.user_id ?? '', userName: r.user_name ?? '',
      }));
    },
  };

  async function dropFutureRuns(trx: Transaction<Schema>, round: string, now: number): Promise<void> {
    const future = await trx.selectFrom('patrol_runs').select('id').where('round_id', '=', round).where('starts_at', '>', now).execute();
    if (future.length === 0) return;
    const ids = future.map((r) => r.id);
    const scanned = new Set((await trx.selectFrom('patrol_scans').select('run_id').where('run_id', 'in', ids).where('scanned_at', 'is not', null).execute()).map((r) => r.run_id));
    const drop = ids.filter((id) => !scanned.has(id));
    if (drop.length === 0) return;
    await trx.deleteFrom('patrol_scans').where('run_id', 'in', drop).execute();
    await trx.deleteFrom('patrol_runs').where('id', 'in', drop).execute();
  }
}

export type PatrolStore = ReturnType<typeof createPatrolStore>;
