/** The alert service's ports and deps (push outbox, notifier, audit) and its interface; the engine is hub/alerts/service.ts. */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Bus } from '../bus.js';
import type { LossReason, Ownership } from '../cluster/leases.js';
import type { Roster } from '../people/roster.js';
import type { FactsWriter } from '../store/facts.js';
import type { RuleCheckpoints } from './checkpoint.js';
import type { AlertStore } from './store.js';
import type { AlertComment, Change } from './types.js';
import type { NameOf } from './view.js';
import type { AuditInput } from '../audit.js';
import type { Role } from '../people/scopes.js';
import type { LivePayloads, PushEvent } from '../../protocol/live.js';
import type { Schema } from '../platform/db/index.js';

/** Messages logged in the outbox transaction: committed with the alert change, sent after the COMMIT. */
export interface AlertOutbox {
  toEstate<K extends PushEvent>(estate: string, event: K, data: LivePayloads[K], at?: number): Promise<unknown>;
  toUser<K extends PushEvent>(userId: string, role: Role, event: K, data: LivePayloads[K], at?: number): Promise<unknown>;
}

/**
 * Where alert messages go: hub/push (estate rooms, user rooms, sequences, replay), through its
 * transactional outbox: one transaction for an alert change, its audit entry and its push messages.
 */
export interface AlertPush {
  transaction<T>(fn: (trx: Kysely<Schema>, out: AlertOutbox) => Promise<T>): Promise<T>;
}

/** The audit entry an operator's transition writes in its own transaction (given the change), or null for none. */
export type AuditOf<T> = (result: T) => AuditInput | null;

/** What escalation needs of hub/notify (its Notifier). */
export interface AlertNotify {
  queue(trx: Kysely<Schema>, req: { alertId: string; estate: string; severity: number; level: number; userIds: readonly string[]; at: number }): Promise<number>;
  wake(): void;
  /** The people a gateway texted about the alert's event at the edge: not texted again at level 0. */
  recordAtEdge?(alertId: string, userIds: readonly string[], channel: string, at: number, opts: { trx: Kysely<Schema>; estate: string; severity: number }): Promise<number>;
}

export interface AlertServiceDeps {
  bus: Bus;
  store: AlertStore;
  push: AlertPush;
  roster: Pick<Roster, 'recipients'>;
  facts: Pick<FactsWriter, 'write'>;
  /** Where `AuditOf` entries are written (in the transition's transaction). */
  audit?: { recordIn(trx: Kysely<Schema>, entry: AuditInput): Promise<unknown> };
  log: Logger;
  now?: () => number;
  /** People's names for the views (who acknowledged, resolved, is assigned). */
  nameOf?: NameOf;
  /** Every estate the hub knows (registry), to re-seed the rules with their open alerts at start. */
  estates?: () => string[];
  /** Off-screen notification (hub/notify): rows queued in the escalation's transaction, the dispatcher woken after COMMIT. */
  notify?: AlertNotify;
  /**
   * The cluster (hub/cluster/leases.ts): rules, timers and escalation run only for the estates of
   * partitions this node owns, and every such write is fenced by the partition's lease. Absent: all.
   */
  ownership?: Ownership;
  /** Cluster: the rules' memory checkpointed with the cursor (hub/alerts/checkpoint.ts). */
  checkpoint?: RuleCheckpoints;
}

/**
 * Operators' transitions resolve once committed, with their push messages and (given `audit`) their
 * audit entry in the same transaction; the messages are sent after the COMMIT.
 */
export interface AlertService {
  start(): Promise<void>;
  stop(): Promise<void>;
  acknowledge(id: string, actor: string, note?: string, audit?: AuditOf<Change>): Promise<Change>;
  resolve(id: string, actor: string, note: string, audit?: AuditOf<Change>): Promise<Change>;
  assign(id: string, user: string | null, actor: string, audit?: AuditOf<Change>): Promise<Change>;
  comment(id: string, actor: string, text: string, audit?: AuditOf<AlertComment>): Promise<AlertComment>;
  /** Run the rules and escalation now (tests, and after a settings change); resolves when what it started is committed. */
  wake(): Promise<void>;
  /** Resolves when every alert change started so far is committed (and sent). */
  idle(): Promise<void>;
  /**
   * Escalate one level now, not at the ack timeout (every notification of the level failed): the
   * normal outbox transaction, with an audit entry. A no-op (false) unless the alert is unacknowledged,
   * still at `fromLevel`, and below the last level.
   */
  escalateNow(id: string, reason: string, fromLevel: number): Promise<boolean>;
  /** Cluster: partitions taken over (seed the rules with their open alerts, sweep) and handed over (finish, forget). */
  acquired(parts: readonly number[]): Promise<void>;
  dropped(parts: readonly number[], why: LossReason): Promise<void>;
}
