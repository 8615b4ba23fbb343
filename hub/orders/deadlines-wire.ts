import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Audit } from '../audit.js';
import type { Ownership } from '../cluster/leases.js';
import type { HubConfig } from '../config.js';
import type { Channel } from '../notify/channel.js';
import type { People } from '../people/index.js';
import { parseDuration } from '../people/tokens.js';
import { loadSigningKey } from '../people/signing-key.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';
import { createDeadlineSweep, type DeadlineSweep, type DeadlineSweepDeps } from './deadlines-sweep.js';
import { deadlinesFrom } from './deadlines.js';
import { importRoutes } from './import-routes.js';
import type { WorkOrders } from './types.js';
import { whistleRoutes } from './whistle-routes.js';
import { createWhistles, type StepRecorder, type Whistles } from './whistle.js';

/**
 * Tiers, deadlines, whistles and 12345 import, built around the work-order service (the composition
 * root, hub/main.ts, calls this once): the sweep (a service to start after the database and push),
 * the whistles, their routes and the import routes, and the work-order service as the REST routes
 * should see it (an order read with its steps also carries its whistles).
 */
export interface OrderTiersDeps<T extends WorkOrders & StepRecorder = WorkOrders & StepRecorder> {
  config: Pick<HubConfig, 'orders' | 'notify' | 'timeZone' | 'dataDir'>;
  db: HubDatabase;
  orders: T;
  people: People;
  registry: Pick<Registry, 'getEstate'>;
  audit: Audit;
  push: DeadlineSweepDeps['push'];
  ownership: Ownership;
  channels: ReadonlyMap<string, Channel>;
  metrics: MetricsRegistry;
  log: Logger;
  /** The clock of deadlines and whistles (tests move it). */
  now?: () => number;
  /** Tell a tier's people off-screen too (the notification outbox): DeadlineSweepDeps.notifyTier. */
  notifyTier?: DeadlineSweepDeps['notifyTier'];
}

export interface OrderTiers<T extends WorkOrders = WorkOrders> {
  sweep: DeadlineSweep;
  whistles: Whistles;
  routes: Router[];
  /** The service with `whistles` on every order read with its steps. */
  orders: T;
}

/** `deadlineFor` of the work-order service: from `orders.deadlines`. */
export const deadlineForConfig = (config: Pick<HubConfig, 'orders'>) => deadlinesFrom(config.orders);

export function wireOrderTiers<T extends WorkOrders & StepRecorder>(d: OrderTiersDeps<T>): OrderTiers<T> {
  const { config } = d;
  const log = d.log.child({ module: 'hub.orders' });
  const now = d.now ?? (() => Date.now());
  const people = {
    onDuty: (estate: string, at: number) => d.people.roster.onDuty(estate, at),
    users: () => d.people.users.list(),
    estate: (id: string) => d.registry.getEstate(id),
  };
  const whistles = createWhistles({
    db: d.db,
    orders: d.orders,
    departments: config.orders.departments,
    checkInWithinMs: parseDuration(config.orders.whistle.checkInWithin),
    reportWithinMs: parseDuration(config.orders.whistle.reportWithin),
    publicUrl: config.notify.publicUrl,
    key: () => loadSigningKey(d.db, { legacyDir: config.dataDir, log }),
    channels: d.channels,
    sendTimeoutMs: config.notify.sendTimeoutMs,
    timeZone: config.timeZone,
    estateName: (estate) => d.registry.getEstate(estate)?.name ?? undefined,
    push: d.push,
    metrics: d.metrics,
    log,
    now,
  });
  const sweep = createDeadlineSweep({
    db: d.db,
    orders: d.orders,
    everyMs: parseDuration(config.orders.sweepEvery),
    ownership: d.ownership,
    push: d.push,
    people,
    whistles,
    ...(d.notifyTier ? { notifyTier: d.notifyTier } : {}),
    metrics: d.metrics,
    log,
    now,
  });
  const get: WorkOrders['get'] = async (id, opts) => {
    const v = await d.orders.get(id, opts);
    return v && opts?.steps ? { ...v, whistles: await whistles.views(id) } : v;
  };
  // A proxy, not a copy: every other method (and any the service adds) is the service's own.
  const orders = new Proxy(d.orders, {
    get(target, key) {
      if (key === 'get') return get;
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const routes = [
    importRoutes({ people: d.people, registry: d.registry, orders: d.orders, audit: d.audit, timeZone: config.timeZone }),
    whistleRoutes({ people: d.people, orders: d.orders, whistles, departments: config.orders.departments, timeZone: config.timeZone, log, now }),
  ];
  return { sweep, whistles, routes, orders };
}
