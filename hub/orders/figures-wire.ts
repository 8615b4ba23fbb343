import type { Router } from 'express';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Logger } from '../../lib/log.js';
import { service, type Service } from '../../lib/service.js';
import type { People } from '../people/index.js';
import { parseDuration } from '../people/tokens.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';
import type { FactsWriter } from '../store/facts.js';
import { subscribeOrderFacts } from './facts.js';
import { missedDeadline, type DeadlineFor } from './figures.js';
import { figuresRoutes } from './figures-api.js';
import { latestCheckIn } from './figures-whistles.js';
import { startOrderRetention, type OrderRetention } from './retention.js';
import { defaultDeadlineFor } from './transitions.js';
import type { WorkOrders } from './types.js';

export interface OrderFiguresWiring {
  db: HubDatabase;
  orders: Pick<WorkOrders, 'onChange'>;
  facts: FactsWriter;
  people: Pick<People, 'principals'>;
  registry: Pick<Registry, 'listEstates' | 'listStreets'>;
  metrics: MetricsRegistry;
  timeZone: string;
  /** `orders.retention`, e.g. `730d`. */
  retention: string;
  /** The deadlines the work-order service gives (deadlines met are judged by them). */
  deadlineFor?: DeadlineFor;
  /** The work orders' clock (tests: fake time): the figures' default range and the retention's cutoff. */
  now?: () => number;
  log: Logger;
}

/**
 * The figures' part of the hub (issue 19 builds 7–8), for hub/main.ts: the figures route (mount it
 * before the routes of `/work-orders/:id`), every committed order change as `order_facts` (subscribed
 * now, so no change made before the start is missed), and the retention service.
 */
export function wireOrderFigures(w: OrderFiguresWiring): { routes: Router; service: Service } {
  const deadlineFor = w.deadlineFor ?? defaultDeadlineFor;
  const offFacts = subscribeOrderFacts({
    orders: w.orders,
    facts: w.facts,
    timeZone: w.timeZone,
    missedDeadline: (id) => missedDeadline(w.db.db, id, deadlineFor),
    checkIn: (id) => latestCheckIn(w.db.db, id),
    log: w.log,
  });
  let retention: OrderRetention | undefined;
  return {
    routes: figuresRoutes({ db: w.db.db, people: w.people, registry: w.registry, timeZone: w.timeZone, deadlineFor, ...(w.now ? { now: w.now } : {}) }),
    service: service(
      'order-figures',
      () => void (retention = startOrderRetention({ db: w.db.db, retentionMs: parseDuration(w.retention), registry: w.metrics, logger: w.log, ...(w.now ? { now: w.now } : {}) })),
      async () => {
        offFacts();
        await retention?.stop();
      },
    ),
  };
}
