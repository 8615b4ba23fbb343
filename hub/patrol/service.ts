import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { HUB_GATEWAY, type RbEvent } from '../../protocol/index.js';
import type { PatrolRoundView, PatrolScanResult } from '../../protocol/patrol.js';
import { partitionOf } from '../cluster/partition.js';
import type { Ownership } from '../cluster/leases.js';
import { RbError } from '../errors.js';
import type { LogFeed } from '../eventlog/index.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { EventStore } from '../store/types.js';
import { deterministicUlid, runStarts } from './schedule.js';
import { createPatrolStore, type PatrolStore } from './store.js';

/**
 * Patrol rounds at run time (issue 19, docs/work-orders.md "Patrol rounds"). Each round's runs are
 * made ahead from its schedule (deterministic ids: any node, any restart, makes the same run once);
 * at a checkpoint's deadline with no scan, the hub appends a `patrol.missed` event to the event log
 * (protocol/hub-events.ts), so the alert rules raise `patrol.missed` and screens and history see it
 * like a device event. The event id is derived from run and checkpoint and the point is stamped
 * missed in the append's transaction: a restart, or a second node, never raises it twice. In a
 * cluster only the owner of the estate's partition runs the schedule and the deadlines.
 */

/** Overdue points raised per look (a hub back after a long outage catches up in batches). */
const OVERDUE_BATCH = 500;

export interface PatrolOptions {
  timeZone: string;
  /** A scan this long after its run's end still counts (late). */
  lateGraceMinutes: number;
  /** Runs are made this far ahead (the phone shows today's). */
  aheadHours: number;
  /** The schedule is looked at at least this often; deadlines are timed to the millisecond. */
  checkEveryMs: number;
}

export interface PatrolDeps {
  db: HubDatabase;
  feed: Pick<LogFeed, 'append'>;
  /** The event store: the missed event goes into the history like a device event. */
  events: Pick<EventStore, 'writeIn'>;
  ownership: Pick<Ownership, 'owns'>;
  options: PatrolOptions;
  log: Logger;
  /** The clock (tests inject a fake one). */
  now?: () => number;
}

export interface Patrol {
  readonly store: PatrolStore;
  readonly options: PatrolOptions;
  now(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Look at the schedule and the deadlines now; resolves when what it raised is committed to the log. */
  tick(): Promise<void>;
  /** Make the runs of these rounds (an estate's, before a scan or a list) that are due by now + ahead. */
  plan(rounds: readonly PatrolRoundView[]): Promise<void>;
  /** A scan of `code` by `user`, whose scope is `inScope`; a code of another estate is 404. */
  scan(code: string, user: { id: string; name: string }, inScope: (estate: string) => boolean): Promise<PatrolScanResult>;
  /** A checkpoint's name, for alert views (device names). */
  checkpointName(estate: string, id: string): string | undefined;
}

export function createPatrol(deps: PatrolDeps): Patrol {
  const { options, log } = deps;
  const now = deps.now ?? (() => Date.now());
  const store = createPatrolStore(deps.db);
  const owns = (estate: string): boolean => deps.ownership.owns(partitionOf(estate));
  const names = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let chain: Promise<void> = Promise.resolve();

  async function plan(rounds: readonly PatrolRoundView[]): Promise<void> {
    const at = now();
    for (const round of rounds) {
      if (!round.enabled || round.points.length === 0 || round.starts.length === 0) continue;
      const from = at - round.windowMinutes * 60_000;
      const starts = runStarts(round, from, at + options.aheadHours * 3_600_000, options.timeZone);
      const have = await store.runStartsSince(round.id, from);
      const made = await store.ensureRuns(round, starts.filter((s) => !have.has(s)));
      if (made > 0) log.debug({ round: round.id, made }, 'patrol runs planned');
    }
  }

  /** Append the missed event (its id derived from run and checkpoint) and stamp the point, in one transaction. */
  async function raiseMissed(p: Awaited<ReturnType<PatrolStore['overdue']>>[number]): Promise<void> {
    const digest = createHash('sha256').update(`patrol.missed|${p.run_id}|${p.checkpoint}`).digest();
    const event = {
      v: 1 as const, id: deterministicUlid(p.due_at, digest), seq: p.due_at, ts: p.due_at, estate: p.estate, gateway: HUB_GATEWAY, device: p.checkpoint,
      type: 'patrol.missed' as const,
      data: { round: p.round_id, roundName: p.round_name, run: p.run_id, checkpoint: p.checkpoint, checkpointName: p.checkpoint_name, location: p.location, startsAt: p.starts_at, dueAt: p.due_at, seq: p.seq },
    } satisfies RbEvent;
    const { writeIn } = deps.events;
    // The embedded store in the log's transaction; InfluxDB takes it from the log (hub/store/influx-sink.ts).
    const at = now();
    await deps.feed.append([{ key: event.id, kind: 'event', estate: p.estate, body: event }], async (trx, fresh) => {
      if (fresh.length > 0 && writeIn) await writeIn.call(deps.events, trx, [event]);
      await store.markMissed(trx, p.run_id, p.checkpoint, at);
    });
    log.info({ estate: p.estate, run: p.run_id, checkpoint: p.checkpoint, dueAt: p.due_at, event: event.id }, 'patrol checkpoint missed');
  }

  /** One look at the schedule and the deadlines; true when more overdue points wait than one look takes. */
  async function tickNow(): Promise<boolean> {
    const rounds = (await store.listRounds(undefined)).filter((r) => owns(r.estate));
    await plan(rounds);
    for (const c of await store.listCheckpoints(undefined)) names.set(`${c.estate}/${c.id}`, c.name);
    const overdue = await store.overdue(now(), OVERDUE_BATCH);
    let raised = 0;
    for (const p of overdue) {
      // Another node's estate: its owner raises it (a full batch of those is no reason to look again at once).
      if (!owns(p.estate)) continue;
      await raiseMissed(p);
      raised++;
    }
    return raised > 0 && overdue.length === OVERDUE_BATCH;
  }

  function arm(next: number | null): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    const delay = Math.max(0, Math.min(options.checkEveryMs, next === null ? Infinity : next - now()));
    timer = setTimeout(() => void service.tick(), delay);
    timer.unref();
  }

  const service: Patrol = {
    store,
    options,
    now,
    async start() {
      running = true;
      await service.tick();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    tick() {
      const run = chain.then(async () => {
        let more = false;
        try {
          more = await tickNow();
        } catch (err) {
          log.error({ err }, 'patrol schedule failed; trying again at the next check');
        }
        arm(more ? now() : await store.nextDue(now()).catch(() => null));
      });
      chain = run;
      return run;
    },
    plan: (rounds) => plan(rounds),
    async scan(code, user, inScope) {
      const cp = await store.byCode(code.trim().toUpperCase());
      // Another estate's checkpoint answers as an unknown one: the answer does not confirm it exists.
      if (!cp || !inScope(cp.estate)) throw new RbError('RB_ERR_NOT_FOUND', 'no checkpoint with this code');
      await plan(await store.listRounds([cp.estate]));
      const at = now();
      const checkpoint = { id: cp.id, estate: cp.estate, name: cp.name, location: cp.location };
      const candidates = await store.scanCandidates(cp.id, at, options.lateGraceMinutes * 60_000);
      for (const c of candidates.filter((x) => x.scanned_at === null)) {
        const late = at > c.due_at;
        if (await store.recordScan(c.run_id, cp.id, at, late, user)) {
          log.info({ estate: cp.estate, run: c.run_id, checkpoint: cp.id, user: user.id, late }, 'patrol checkpoint scanned');
          return { checkpoint, matched: true, duplicate: false, late, scannedAt: at, run: await store.run(c.run_id, at) };
        }
      }
      // Scanned already (a second tap, a retried request, one at the same moment): the same answer, nothing changes.
      const fresh = candidates.some((x) => x.scanned_at === null) ? await store.scanCandidates(cp.id, at, options.lateGraceMinutes * 60_000) : candidates;
      const done = fresh.find((x) => x.scanned_at !== null);
      if (done) return { checkpoint, matched: true, duplicate: true, late: done.late === 1, scannedAt: Number(done.scanned_at), run: await store.run(done.run_id, at) };
      return { checkpoint, matched: false, duplicate: false, late: false };
    },
    checkpointName: (estate, id) => names.get(`${estate}/${id}`),
  };
  return service;
}
