import type { Kysely } from 'kysely';
import type { AlertOutbox, AlertService, AlertServiceDeps, AuditOf } from './service-types.js';
import type { Schema } from '../platform/db/index.js';
import { alertFact, type AlertTransition } from '../store/facts.js';
import { createEscalate } from './escalate.js';
import { RuleInputs } from './inputs.js';
import { createRuleMemory, evaluate, seedActive, type AlertAction, type RuleInput, type RuleMemory } from './rules.js';
import type { Alert, Change } from './types.js';
import { alertView } from './view.js';
import { FencedError } from '../cluster/leases.js';
import { partitionOf } from '../cluster/partition.js';
import type { EscalationLevel } from '../people/roster.js';
import { memoryWake } from './memory.js';
import { RbError } from '../errors.js';

export type { AlertNotify, AlertOutbox, AlertPush, AlertService, AlertServiceDeps, AuditOf } from './service-types.js';

export { alertView, type AlertView, type NameOf } from './view.js';

/** Retries of an alert change the database refused (about 45 s in all). */
const RETRIES = 12;
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;
/** An escalation the database refused is looked at again this much later. */
const ESCALATION_RETRY_MS = 1_000;

/** Longest single timer: a far wake is re-checked, never trusted across clock jumps. */
const MAX_SLEEP_MS = 60_000;

/**
 * The alert engine at run time: bus inputs → rules (hub/alerts/rules.ts, pure) → the alert store →
 * push (`alert:new`, `alert:update` to the estate, `alert:notify` to each person the escalation
 * reaches) and facts for the dashboards. One timer serves both the rules' timers (door held, offline
 * for N s, auto-resolve hold-off) and escalation; it is re-armed after every change.
 */
export function createAlertService(deps: AlertServiceDeps): AlertService {
  const { bus, store, push, facts, log } = deps;
  const now = deps.now ?? (() => Date.now());
  const owns = (estate: string): boolean => deps.ownership?.owns(partitionOf(estate)) ?? true;
  /** The owner's write of an estate's alert: refused (FencedError) once another node took the partition. */
  const fence = (trx: Kysely<Schema>, estate: string): Promise<void> =>
    deps.ownership?.clustered ? deps.ownership.fence(trx as never, [partitionOf(estate)], 'alert') : Promise.resolve();
  let memory: RuleMemory = createRuleMemory();
  let ruleWake: number | null = null;
  deps.checkpoint?.attach({
    get: () => memory,
    restore(estate, m) {
      memory = { ...memory, estates: { ...memory.estates, [estate]: m } };
      ruleWake = memoryWake(memory);
    },
  });
  let escalationWake: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const unsubscribe: Array<() => void> = [];
  const inputs = new RuleInputs();

  const fact = (alert: Alert, transition: AlertTransition, at: number): void => facts.write([alertFact(alert, transition, at)]);
  /** Alert changes in flight, in order (each is one outbox transaction; push runs them one at a time). */
  let pending: Promise<unknown> = Promise.resolve();
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending = Promise.all([pending, p.catch(() => undefined)]).then(() => undefined);
    return p;
  };

  const escalate = createEscalate(deps);

  function publish(out: AlertOutbox, alert: Alert, event: 'alert:new' | 'alert:update', at: number): Promise<unknown> {
    return out.toEstate(alert.estate, event, alertView(alert, deps.nameOf), at);
  }

  /**
   * One outbox transaction per action; facts and the escalation clock after its COMMIT. A failure
   * of the database (a PostgreSQL restart, a cut link) is retried with backoff while the hub runs:
   * the rules have moved on already, so giving up would lose the alarm. A refused fence (the
   * partition moved) or a refused input is final.
   */
  function applyOne(action: AlertAction, at: number, attempt = 0): Promise<void> {
    const after: Array<() => void> = [];
    return push
      .transaction(async (trx, out) => {
        await fence(trx, action.estate);
        if (action.type === 'raise') {
          const { alert, created, changed } = await store.raise(action, trx);
          if (created) {
            await publish(out, alert, 'alert:new', at);
            if (action.edge && deps.notify?.recordAtEdge) {
              await deps.notify.recordAtEdge(alert.id, action.edge.to, `edge:${action.gateway}:${action.edge.channel}`, action.edge.notifiedAt, { trx, estate: alert.estate, severity: alert.severity });
            }
            after.push(() => fact(alert, 'opened', at));
            const wake = await escalate(trx, out, alert, at, after);
            if (wake !== null) after.push(() => wakeAt(wake));
          } else if (changed) {
            await publish(out, alert, 'alert:update', at);
          }
        } else {
          // resolve: false stamps conditionClearedAt and leaves the alert to a person (alarms).
          const change = await store.clear(action, trx);
          if (change?.changed) {
            await publish(out, change.alert, 'alert:update', at);
            if (action.resolve) after.push(() => fact(change.alert, 'resolved', at));
          }
        }
      })
      .then(
        () => {
          for (const f of after) f();
          arm();
        },
        (err: unknown) => {
          const what = { type: action.type, rule: action.rule, estate: action.estate, device: action.device };
          if (err instanceof FencedError) {
            log.warn({ action: what }, 'alert action fenced: the estate\'s partition has another owner now');
            return undefined;
          }
          // Not ours any more (the partition moved): the new owner runs the rules on this event.
          if (!(err instanceof RbError) && running && attempt < RETRIES && owns(action.estate)) {
            const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt);
            log.warn({ err: (err as Error).message, action: what, attempt: attempt + 1, retryInMs: delay }, 'alert action failed; retrying');
            return new Promise<void>((r) => setTimeout(r, delay).unref()).then(() => applyOne(action, at, attempt + 1));
          }
          log.error({ err, action: what }, 'alert action failed');
          return undefined;
        },
      );
  }

  /** Wakes asked for while a sweep runs: the sweep's result (read before them) must not drop them. */
  let wakesDuringSweep: number | null = null;
  const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));
  function wakeAt(wake: number): void {
    escalationWake = earliest(escalationWake, wake);
    wakesDuringSweep = earliest(wakesDuringSweep, wake);
  }

  /**
   * Resolves when the alert changes this input started are committed (or failed): the event log's
   * feed holds the alerts consumer's cursor before this event until then, so a hub killed in between
   * runs the rules on it again after the restart (or on the node that takes its partition over).
   */
  function run(input: RuleInput, act = true): Promise<void> | undefined {
    const at = now();
    let result;
    try {
      result = evaluate(memory, input, at, (estate) => store.settings(estate));
    } catch (err) {
      log.error({ err, input: input.kind }, 'alert rules failed');
      return undefined;
    }
    memory = result.memory;
    ruleWake = result.wakeAt;
    // Started in order: the push log's writer commits them in this order. What the gateway texted at the edge rides along.
    const ev = input.kind === 'event' ? input.event : undefined;
    const started: Array<Promise<void>> = [];
    // A checkpoint's replay (up to the cursor) rebuilds the memory only: those alerts are committed.
    for (const action of act ? result.actions : []) {
      started.push(track(applyOne(ev?.edge && action.type === 'raise' && action.eventId === ev.id ? { ...action, edge: ev.edge } : action, at)));
    }
    arm();
    return started.length === 0 ? undefined : started.length === 1 ? started[0] : Promise.all(started).then(() => undefined);
  }

  /** Escalation over every unacknowledged alert; returns the earliest next wake. Sweeps run one at a time. */
  let sweeping: Promise<number | null> = Promise.resolve(null);
  function sweep(at: number): Promise<number | null> {
    sweeping = sweeping.then(
      () => sweepNow(at),
      () => sweepNow(at),
    );
    return track(sweeping);
  }
  async function sweepNow(at: number): Promise<number | null> {
    wakesDuringSweep = null;
    let next: number | null = null;
    for (const candidate of await store.dueForEscalation(at)) {
      if (!owns(candidate.estate)) continue;
      const after: Array<() => void> = [];
      try {
        const wake = await push.transaction(async (trx, out) => {
          await fence(trx, candidate.estate);
          return escalate(trx, out, candidate, at, after);
        });
        for (const f of after) f();
        if (wake !== null && (next === null || wake < next)) next = wake;
      } catch (err) {
        if (err instanceof FencedError) {
          log.warn({ alert: candidate.id }, 'escalation fenced: the estate\'s partition has another owner now');
          continue;
        }
        // The database refused it (a restart, a cut link, another node's push sequence): it is still
        // due, so look again soon; dropping its wake would leave it unescalated until something else
        // armed the timer.
        log.error({ err, alert: candidate.id }, 'escalation failed; retrying');
        next = earliest(next, now() + ESCALATION_RETRY_MS);
      }
    }
    return earliest(next, wakesDuringSweep);
  }
  function sweepAndArm(at: number): Promise<void> {
    return sweep(at).then(
      (next) => {
        escalationWake = next;
        arm();
      },
      (err: unknown) => {
        // The due alerts could not even be read: try again soon rather than wait for an event to re-arm the timer.
        log.error({ err }, 'escalation sweep failed; retrying');
        // (Not the earliest of the old wake: that one is past, and would spin while the database is away.)
        escalationWake = now() + ESCALATION_RETRY_MS;
        arm();
      },
    );
  }

  /** The wake the pending timer serves: arm() runs after every event, and most leave it as it is. */
  let armedFor: number | null = null;
  function arm(): void {
    if (!running) return;
    const target = ruleWake === null ? escalationWake : escalationWake === null ? ruleWake : Math.min(ruleWake, escalationWake);
    if (timer && target === armedFor) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    armedFor = target;
    if (target === null) return;
    const delay = Math.min(MAX_SLEEP_MS, Math.max(0, target - now()));
    timer = setTimeout(onTimer, delay);
    timer.unref();
  }

  function onTimer(): void {
    timer = undefined;
    armedFor = null;
    const at = now();
    if (ruleWake !== null && ruleWake <= at) run({ kind: 'tick' });
    void sweepAndArm(at);
  }

  /** An operator's transition in one outbox transaction: the change, its audit entry, its push; facts after COMMIT. */
  function operator(
    fn: (trx: Kysely<Schema>) => Promise<Change>,
    transition: AlertTransition | null,
    at: number,
    audit: AuditOf<Change> | undefined,
  ): Promise<Change> {
    return track(
      push
        .transaction(async (trx, out) => {
          const change = await fn(trx);
          if (change.changed) await publish(out, change.alert, 'alert:update', at);
          await writeAudit(trx, audit, change);
          return change;
        })
        .then((change) => {
          if (change.changed && transition) fact(change.alert, transition, at);
          return change;
        }),
    );
  }
  async function writeAudit<T>(trx: Kysely<Schema>, audit: AuditOf<T> | undefined, result: T): Promise<void> {
    const entry = audit?.(result);
    if (!entry) return;
    if (!deps.audit) throw new Error('alert service: an audit entry was given but no audit repository');
    await deps.audit.recordIn(trx, entry);
  }

  /** Seed the rules with the open alerts of the estates `which` selects. */
  async function seed(which: (estate: string) => boolean): Promise<void> {
    const estates = new Set(deps.estates?.() ?? []);
    for (const c of await store.dueForEscalation(Number.MAX_SAFE_INTEGER)) estates.add(c.estate);
    for (const estate of estates) if (owns(estate) && which(estate)) memory = seedActive(memory, await store.openAlerts(estate));
  }

  return {
    async acquired(parts) {
      const set = new Set(parts);
      await seed((estate) => set.has(partitionOf(estate)));
      // Escalations that fell due while nobody owned these estates fire now (once: the store records each level).
      if (running) void sweepAndArm(now());
    },
    async dropped(parts, why) {
      const set = new Set(parts);
      // Handed over: finish first (the lease is still held). Lost: nothing more can commit; do not wait.
      if (why === 'released') await pending;
      const estates: RuleMemory['estates'] = {};
      for (const [estate, m] of Object.entries(memory.estates)) if (!set.has(partitionOf(estate))) estates[estate] = m;
      memory = { ...memory, estates };
      deps.checkpoint?.forget(parts);
    },
    async start() {
      running = true;
      // Alerts open before a restart (acknowledged or not): their clearing conditions still resolve or stamp them.
      await seed(() => true);
      unsubscribe.push(
        bus.on('event', (event, pos?: number) => run({ kind: 'event', event }, pos === undefined || !deps.checkpoint?.replayOnly(event.estate, pos))),
        bus.on('gateway.status', (status) => inputs.learn(status)),
        bus.on('state', (change) => {
          // Every node keeps every estate's live state (cluster): the rules run where the estate is owned.
          if (!owns(change.estate)) return;
          const input = inputs.fromState(change);
          if (input) run(input);
        }),
        bus.on('snapshot', (link) => {
          const at = now();
          void track(
            push.transaction(async (trx, out) => {
              for (const alert of await store.linkSnapshot(link.eventId, link.sha256, at, trx)) await publish(out, alert, 'alert:update', at);
            }),
          ).catch((err: unknown) => log.error({ err, eventId: link.eventId }, 'snapshot link failed'));
        }),
      );
      await sweepAndArm(now());
    },
    async stop() {
      running = false;
      for (const off of unsubscribe.splice(0)) off();
      if (timer) clearTimeout(timer);
      timer = undefined;
      await pending;
    },
    acknowledge(id, actor, note, audit) {
      const at = now();
      return operator((trx) => store.acknowledge(id, actor, note, at, trx), 'acknowledged', at, audit);
    },
    resolve(id, actor, note, audit) {
      const at = now();
      return operator((trx) => store.resolve(id, actor, note, at, trx), 'resolved', at, audit);
    },
    assign(id, user, actor, audit) {
      const at = now();
      return operator((trx) => store.assign(id, user, actor, at, trx), null, at, audit);
    },
    comment(id, actor, text, audit) {
      const at = now();
      return track(
        push.transaction(async (trx, out) => {
          const c = await store.comment(id, actor, text, at, trx);
          const detail = await store.get(id, trx);
          if (detail) await publish(out, detail, 'alert:update', at);
          await writeAudit(trx, audit, c);
          return c;
        }),
      );
    },
    async wake() {
      run({ kind: 'tick' });
      await sweepAndArm(now());
      await pending;
    },
    escalateNow(id, reason, fromLevel) {
      const at = now();
      const after: Array<() => void> = [];
      return track(
        push.transaction(async (trx, out) => {
          const a = await store.get(id, trx);
          if (!a || a.state === 'acknowledged' || a.state === 'resolved' || a.level !== fromLevel || a.level >= 3) return { done: false, wake: null };
          const wake = await escalate(trx, out, a, at, after, (a.level + 1) as EscalationLevel);
          if (deps.audit) await writeAudit(trx, () => ({ actor: 'system', action: 'alert.escalate', estate: a.estate, target: `alert:${id}`, detail: { from: fromLevel, to: fromLevel + 1, reason } }), null);
          return { done: true, wake };
        }),
      ).then(({ done, wake }) => {
        for (const f of after) f();
        if (wake !== null) wakeAt(wake);
        arm();
        return done;
      });
    },
    idle: async () => {
      // A change may start another (a tick's raise re-arms the timer): wait until nothing new was started.
      let seen: Promise<unknown>;
      do {
        seen = pending;
        await seen;
      } while (seen !== pending);
    },
  };
}
