import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EscalationLevel, Roster } from '../people/roster.js';
import type { Schema } from '../platform/db/index.js';
import { alertFact, type FactsWriter } from '../store/facts.js';
import { escalation, type EscalationAlert } from './escalation.js';
import type { AlertNotify, AlertOutbox } from './service-types.js';
import type { AlertStore } from './store.js';
import { alertView, type NameOf } from './view.js';

/** What one escalation step needs (a subset of the alert service's deps). */
export interface EscalateDeps {
  store: AlertStore;
  roster: Pick<Roster, 'recipients'>;
  facts: Pick<FactsWriter, 'write'>;
  log: Logger;
  nameOf?: NameOf;
  notify?: AlertNotify;
}

/**
 * Notify who the escalation policy says, now, in the caller's transaction; records the level in the
 * store. Returns the next wake; pushes onto `after` what runs once committed (facts, the notifier's wake, the log).
 */
export type Escalate = (
  trx: Kysely<Schema>,
  out: AlertOutbox,
  alert: EscalationAlert & { id: string; estate: string },
  at: number,
  after: Array<() => void>,
  /** escalateNow: this level, now, whatever the clock says. */
  force?: EscalationLevel,
) => Promise<number | null>;

/** One escalation step of the alert service (policy in hub/alerts/escalation.ts, pure): store, push, off-screen queue, timeline. */
export function createEscalate(deps: EscalateDeps): Escalate {
  const { store, roster, facts, log } = deps;
  return async (trx, out, alert, at, after, force) => {
    const decision = force !== undefined ? { level: force, notify: 'escalated' as const, wakeAt: null } : escalation(alert, store.settings(alert.estate), at);
    if (!decision.notify) return decision.wakeAt;
    const level = decision.level as EscalationLevel;
    const change = await store.escalate(alert.id, level, at, trx);
    // Acknowledged or resolved meanwhile (an operator was faster than this sweep): nobody to notify.
    if (change.alert.state === 'acknowledged' || change.alert.state === 'resolved') return null;
    const view = alertView(change.alert, deps.nameOf);
    const people = roster.recipients(level, alert.estate, at);
    for (const person of people) await out.toUser(person.id, person.role, 'alert:notify', { alert: view, level, reason: decision.notify }, at);
    // Off-screen: the outbox rows commit with this transition or not at all (hub/notify/notifier.ts).
    const req = { alertId: alert.id, estate: alert.estate, severity: alert.severity, level, userIds: people.map((p) => p.id), at };
    if (deps.notify && (await deps.notify.queue(trx, req)) > 0) after.push(() => deps.notify!.wake());
    // Who was reached at which level, for the alert's timeline.
    await store.notified(alert.id, { at, level, reason: decision.notify, actors: people.map((p) => `user:${p.id}`) }, trx);
    if (level > alert.level) {
      await out.toEstate(change.alert.estate, 'alert:update', view, at);
      after.push(() => facts.write([alertFact(change.alert, 'escalated', at)]));
    }
    after.push(() => log.info({ alert: alert.id, estate: alert.estate, level, reason: decision.notify, people: people.length }, 'alert notified'));
    // After notifying, the policy is asked again for its next wake (renotify or next level).
    return escalation(change.alert, store.settings(alert.estate), at).wakeAt;
  };
}
