import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { userAuth } from '../api/user-auth.js';
import type { HubConfig } from '../config.js';
import type { WorkOrders } from '../orders/types.js';
import type { People } from '../people/index.js';
import type { Registry } from '../registry.js';
import { createResidentMetrics } from './metrics.js';
import { posterRoutes } from './poster-routes.js';
import { residentRoutes } from './routes.js';

/**
 * The resident part of the hub (hub/main.ts): the public pages /r/… (mounted before the screens'
 * fallback through createApi's `routes`) and the poster API; counters on the hub's /metrics.
 */
export function residentWiring(deps: { config: HubConfig; registry: Registry; people: People; metrics: PromRegistry; orders: WorkOrders; log: Logger }): { routes: Router[] } {
  const { config, registry } = deps;
  const estate = (id: string) => registry.getEstate(id);
  return {
    routes: [
      residentRoutes({
        orders: deps.orders,
        estate,
        config: config.residents,
        publicUrl: config.notify.publicUrl,
        metrics: createResidentMetrics(deps.metrics),
        timeZone: config.timeZone,
        log: deps.log,
      }),
      posterRoutes({ auth: userAuth(deps.people.principals), estate, publicUrl: config.notify.publicUrl, fontFile: config.residents.posterFont }),
    ],
  };
}
