import type { Kysely } from 'kysely';
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
