import type { Generated } from 'kysely';
import type { PeopleSchema } from './schema-people.js';
import type { RegistrySchema } from './schema-registry.js';
import type { AlertsSchema } from './schema-alerts.js';
import type { EventsSchema } from './schema-events.js';
import type { CommandsSchema } from './schema-commands.js';
import type { KeysSchema } from './schema-keys.js';
import type { ContactsSchema } from './schema-contacts.js';
import type { WebPushSchema } from './schema-webpush.js';
import type { NotifySchema } from './schema-notify.js';
import type { ClusterSchema } from './schema-cluster.js';
import type { OrdersSchema } from './schema-orders.js';
import type { WhistlesSchema } from './schema-whistles.js';
import type { PatrolSchema } from './schema-patrol.js';

/**
 * The hub database's tables as kysely sees them: one interface per table, column names as in SQL
 * (snake_case). Times are integers of ms since the epoch (BIGINT on PostgreSQL, read back as
 * numbers: see `open.ts`); JSON is stored as TEXT on both engines, so no query depends on a JSON
 * operator only one engine has.
 */
export interface AuditTable {
  seq: Generated<number>;
  at: number;
  actor: string;
  action: string;
  estate: string | null;
  target: string | null;
  detail: string | null;
}

export interface DeadLetterTable {
  id: Generated<number>;
  received_at: number;
  estate: string;
  gateway: string;
  topic: string;
  reason: string;
  message: string;
  payload: string;
  encoding: 'utf8' | 'base64';
  bytes: number;
}

export interface Schema extends RegistrySchema, PeopleSchema, AlertsSchema, EventsSchema, CommandsSchema, KeysSchema, ContactsSchema, WebPushSchema, NotifySchema, ClusterSchema, OrdersSchema, WhistlesSchema, PatrolSchema {
  audit: AuditTable;
  dead_letters: DeadLetterTable;
}
