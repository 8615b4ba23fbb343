import type { Logger } from 'pino';
import type { AlertService } from './alerts/service.js';
import type { AlertStore } from './alerts/store.js';
import type { Audit } from './audit.js';
import type { Bus } from './bus.js';
import type { Commands } from './commands/index.js';
import type { HubConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { Channel } from './notify/channel.js';
import type { Dispatcher } from './notify/dispatcher.js';
import type { Notifier } from './notify/notifier.js';
import type { ContactsWiring } from './notify/wire-contacts.js';
import type { NotifyOverrides } from './notify/wire.js';
import type { WorkOrdersService } from './orders/index.js';
import type { OrderTiers } from './orders/deadlines-wire.js';
import type { Patrol } from './patrol/service.js';
import type { People } from './people/index.js';
import type { Roster } from './people/roster.js';
import type { Registry } from './registry.js';
import type { EventStore } from './store/index.js';
import type { FactsWriter } from './store/facts.js';

/** What the hub's composition root (createHub, hub/main.ts) takes and returns. */

export interface Hub {
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAddress(): { host: string; port: number };
  mqttAddress(): { host: string; port: number };
  readonly registry: Registry;
  readonly store: EventStore;
  readonly bus: Bus;
  readonly metrics: Metrics;
  readonly commands: Commands;
  /** Facts for dashboards (InfluxDB; a no-op on SQLite): hub/store/facts.ts. */
  readonly facts: FactsWriter;
  /** Users, tokens (verifySocketToken for io.use), roster. */
  readonly people: People;
  readonly roster: Roster;
  readonly audit: Audit;
  readonly alerts: AlertService;
  readonly alertStore: AlertStore;
  /** Contact book, ack links, SMS replies (hub/notify/wire-contacts.ts). */
  readonly contacts: ContactsWiring;
  /** Off-screen notification: the outbox's queueing side, its dispatcher and the configured channels. */
  readonly notify: { readonly notifier: Notifier; readonly dispatcher: Dispatcher; readonly channels: ReadonlyMap<string, Channel> };
  /** Work orders (hub/orders, docs/work-orders.md). */
  readonly orders: WorkOrdersService;
  /** Deadlines and tiers (the sweep), whistles, 12345 import (hub/orders/deadlines-wire.ts). */
  readonly orderTiers: OrderTiers;
  /** Patrol rounds (hub/patrol): checkpoints, runs, scans, missed-checkpoint events. */
  readonly patrol: Patrol;
}

export interface HubDeps {
  config: HubConfig;
  log: Logger;
  /** Replace the configured store (tests). */
  store?: EventStore;
  /** Notification parts tests replace (issue 17; hub/notify/wire.ts). */
  notify?: NotifyOverrides;
  /** The clock of work orders, their deadlines and whistles (tests move it forward); default Date.now. */
  ordersNow?: () => number;
  /** Patrol rounds' clock (tests: fake time for deadlines). */
  patrol?: { now?: () => number };
}
