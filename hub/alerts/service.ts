import type { Logger } from 'pino';
import type { Bus } from '../bus.js';
import type { EscalationLevel, Roster } from '../people/roster.js';
import type { Role } from '../people/scopes.js';
import type { LivePayloads, PushEvent } from '../../protocol/live.js';
import { alertFact, type AlertTransition, type FactsWriter } from '../store/facts.js';
import { escalation, type EscalationAlert } from './escalation.js';
import { createRuleMemory, evaluate, seedActive, type AlertAction, type RuleInput, type RuleMemory } from './rules.js';
import type { AlertStore } from './store.js';
import type { Alert, AlertComment, Change } from './types.js';

/** Where alert messages go: hub/push (estate rooms, user rooms, sequences, replay). */
export interface AlertPush {
  toEstate<K extends PushEvent>(estate: string, event: K, data: LivePayloads[K], at?: number): unknown;
  toUser<K extends PushEvent>(userId: string, role: Role, event: K, data: LivePayloads[K], at?: number): unknown;
}

export interface AlertServiceDeps {
  bus: Bus;
  store: AlertStore;
  push: AlertPush;
  roster: Pick<Roster, 'recipients'>;
  facts: Pick<FactsWriter, 'write'>;
  log: Logger;
  now?: () => number;
  /** People's names for the views (who acknowledged, resolved, is assigned). */
  nameOf?: NameOf;
  /** Every estate the hub knows (registry), to re-seed the rules with their open alerts at start. */
  estates?: () => string[];
}

/** An alert as the API and push send it: snapshot links carry the URL screens fetch them from. */
export type AlertView = Omit<Alert, 'snapshots'> & { snapshots: Array<{ sha256: string; eventId: string; url: string }> };

/**
 * Names for alert views: of an actor (`user:<id>`) if it is a person the hub knows, of a device as
 * its gateway configured it (e.g. 东门), and of an estate as the registry has it (e.g. 枫林苑).
 */
export interface NameOf {
  (actor: string): string | undefined;
  device?: (estate: string, device: string) => string | undefined;
  estate?: (estate: string) => string | undefined;
}

export function alertView<T extends Alert>(
  a: T,
  nameOf?: NameOf,
): Omit<T, 'snapshots'> & {
  snapshots: AlertView['snapshots'];
  acknowledgedByName?: string;
  resolvedByName?: string;
  assigneeName?: string;
  deviceName?: string;
  estateName?: string;
} {
  const names: Record<string, string> = {};
  const deviceName = nameOf?.device?.(a.estate, a.device);
  if (deviceName) names.deviceName = deviceName;
  const estateName = nameOf?.estate?.(a.estate);
  if (estateName) names.estateName = estateName;
  if (nameOf) {
    for (const [field, actor] of [['acknowledgedByName', a.acknowledgedBy], ['resolvedByName', a.resolvedBy], ['assigneeName', a.assignee]] as const) {
      const name = actor ? nameOf(actor) : undefined;
      if (name) names[field] = name;
    }
  }
  return { ...a, ...names, snapshots: a.snapshots.map((s) => ({ ...s, url: `/api/v1/snapshots/${s.sha256}` })) };
}

export interface AlertService {
  start(): void;
  stop(): void;
  acknowledge(id: string, actor: string, note?: string): Change;
  resolve(id: string, actor: string, note: string): Change;
  assign(id: string, user: string | null, actor: string): Change;
  comment(id: string, actor: string, text: string): AlertComment;
  /** Run the rules and escalation now (tests, and after a settings change). */
  wake(): void;
}

/** Longest single timer: a far wake is re-checked, never trusted across clock jumps. */
const MAX_SLEEP_MS = 60_000;

/**
 * The alert engine at run time: bus inputs → rules (hub/alerts/rules.ts, pure) → the alert store →
 * push (`alert:new`, `alert:update` to the estate, `alert:notify` to each person the escalation
 * reaches) and facts for the dashboards. One timer serves both the rules' timers (door held, offline
 * for N s, auto-resolve hold-off) and escalation; it is re-armed after every change.
 */
export function createAlertService(deps: AlertServiceDeps): AlertService {
  const { bus, store, push, roster, facts, log } = deps;
  const now = deps.now ?? (() => Date.now());
  let memory: RuleMemory = createRuleMemory();
  let ruleWake: number | null = null;
  let escalationWake: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const unsubscribe: Array<() => void> = [];
  /** Device kinds learnt from gateway status (`devices[id].kind`): camera rules need them. */
  const kinds = new Map<string, string>();

  const fact = (alert: Alert, transition: AlertTransition, at: number): void => facts.write([alertFact(alert, transition, at)]);

  function publish(alert: Alert, event: 'alert:new' | 'alert:update', at: number): void {
    push.toEstate(alert.estate, event, alertView(alert, deps.nameOf), at);
  }

  /** Notify who the escalation policy says, now; records the level in the store. */
  function escalate(alert: EscalationAlert & { id: string; estate: string }, at: number): number | null {
    const decision = escalation(alert, store.settings(alert.estate), at);
    if (decision.notify) {
      const level = decision.level as EscalationLevel;
      const change = store.escalate(alert.id, level, at);
      const view = alertView(change.alert, deps.nameOf);
      const people = roster.recipients(level, alert.estate, at);
      for (const person of people) push.toUser(person.id, person.role, 'alert:notify', { alert: view, level, reason: decision.notify }, at);
      // Who was reached at which level, for the alert's timeline.
      store.notified(alert.id, { at, level, reason: decision.notify, actors: people.map((p) => `user:${p.id}`) });
      if (level > alert.level) {
        publish(change.alert, 'alert:update', at);
        fact(change.alert, 'escalated', at);
      }
      log.info({ alert: alert.id, estate: alert.estate, level, reason: decision.notify, people: people.length }, 'alert notified');
      // After notifying, the policy is asked again for its next wake (renotify or next level).
      return escalation(change.alert, store.settings(alert.estate), at).wakeAt;
    }
    return decision.wakeAt;
  }

  function apply(actions: readonly AlertAction[], at: number): void {
    for (const action of actions) {
      try {
        if (action.type === 'raise') {
          const { alert, created, changed } = store.raise(action);
          if (created) {
            publish(alert, 'alert:new', at);
            fact(alert, 'opened', at);
            const wake = escalate(alert, at);
            if (wake !== null && (escalationWake === null || wake < escalationWake)) escalationWake = wake;
          } else if (changed) {
            publish(alert, 'alert:update', at);
          }
        } else {
          // resolve: false stamps conditionClearedAt and leaves the alert to a person (alarms).
          const change = store.clear(action);
          if (change?.changed) {
            publish(change.alert, 'alert:update', at);
            if (action.resolve) fact(change.alert, 'resolved', at);
          }
        }
      } catch (err) {
        log.error({ err, action: { type: action.type, rule: action.rule, estate: action.estate, device: action.device } }, 'alert action failed');
      }
    }
  }

  function run(input: RuleInput): void {
    const at = now();
    let result;
    try {
      result = evaluate(memory, input, at, (estate) => store.settings(estate));
    } catch (err) {
      log.error({ err, input: input.kind }, 'alert rules failed');
      return;
    }
    memory = result.memory;
    ruleWake = result.wakeAt;
    if (result.actions.length) apply(result.actions, at);
    arm();
  }

  /** Escalation over every unacknowledged alert; returns the earliest next wake. */
  function sweep(at: number): number | null {
    let next: number | null = null;
    for (const candidate of store.dueForEscalation(at)) {
      try {
        const wake = escalate(candidate, at);
        if (wake !== null && (next === null || wake < next)) next = wake;
      } catch (err) {
        log.error({ err, alert: candidate.id }, 'escalation failed');
      }
    }
    return next;
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
    escalationWake = sweep(at);
    arm();
  }

  /** After an operator's transition: push, facts, and the escalation clock. */
  function after(change: Change, transition: AlertTransition | null, at: number): Change {
    if (!change.changed) return change;
    publish(change.alert, 'alert:update', at);
    if (transition) fact(change.alert, transition, at);
    return change;
  }

  return {
    start() {
      running = true;
      // Alerts open before a restart (acknowledged or not): their clearing conditions still resolve or stamp them.
      const estates = new Set(deps.estates?.() ?? []);
      for (const c of store.dueForEscalation(Number.MAX_SAFE_INTEGER)) estates.add(c.estate);
      for (const estate of estates) memory = seedActive(memory, store.openAlerts(estate));
      unsubscribe.push(
        bus.on('event', (event) => run({ kind: 'event', event })),
        bus.on('gateway.status', (status) => {
          for (const [device, health] of Object.entries(status.devices ?? {})) {
            if (health.kind) kinds.set(`${status.estate}/${device}`, health.kind);
          }
        }),
        bus.on('state', (change) => {
          const value = change.value as Record<string, unknown> | null;
          if (!value) return;
          if (change.kind === 'device' && typeof value.online === 'boolean') {
            const device = String(value.device);
            const deviceKind = kinds.get(`${change.estate}/${device}`);
            run({
              kind: 'device',
              estate: change.estate,
              gateway: String(value.gateway),
              device,
              ...(deviceKind ? { deviceKind } : {}),
              online: value.online,
              since: typeof value.since === 'number' ? value.since : change.ts,
              ...(value.condition === 'auth-failed' ? { condition: 'auth-failed' as const } : {}),
              ...(Array.isArray(value.warnings) ? { warnings: (value.warnings as Array<{ code?: unknown }>).map((w) => String(w.code)) } : {}),
            });
          } else if (change.kind === 'gateway' && typeof value.online === 'boolean') {
            const outbox = value.outbox as { pressure?: boolean } | undefined;
            run({
              kind: 'gateway',
              estate: change.estate,
              gateway: String(value.gateway),
              online: value.online,
              ...(outbox ? { pressure: outbox.pressure === true } : {}),
            });
          }
        }),
        bus.on('snapshot', (link) => {
          for (const alert of store.linkSnapshot(link.eventId, link.sha256)) publish(alert, 'alert:update', now());
        }),
      );
      escalationWake = sweep(now());
      arm();
    },
    stop() {
      running = false;
      for (const off of unsubscribe.splice(0)) off();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    acknowledge(id, actor, note) {
      const at = now();
      return after(store.acknowledge(id, actor, note, at), 'acknowledged', at);
    },
    resolve(id, actor, note) {
      const at = now();
      return after(store.resolve(id, actor, note, at), 'resolved', at);
    },
    assign(id, user, actor) {
      const at = now();
      return after(store.assign(id, user, actor, at), null, at);
    },
    comment(id, actor, text) {
      const at = now();
      const c = store.comment(id, actor, text, at);
      const detail = store.get(id);
      if (detail) publish(detail, 'alert:update', at);
      return c;
    },
    wake() {
      run({ kind: 'tick' });
      escalationWake = sweep(now());
      arm();
    },
  };
}
