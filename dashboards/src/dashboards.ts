import type { DashboardSpec } from './builders.js';
import { deviceHealth, estateDetail } from './estate.js';
import { workOrders } from './orders.js';
import { alertResponse, gatewayHealth } from './response.js';
import { streetOverview } from './street.js';

/**
 * The street property-service center's dashboards, each written once in both languages
 * (dashboards/src/i18n.ts). Every query reads the InfluxDB schema of docs/storage.md: `raw.events`
 * (one point per event), `hourly.events_hourly` (the CQ's counts), the facts `raw.gateway_status`,
 * `raw.alerts`, `raw.alerts_open`, `raw.device_availability` and the name lookups
 * `raw.street_names`, `raw.estate_names`, `raw.device_names`.
 */
export const DASHBOARDS: readonly DashboardSpec[] = [streetOverview, estateDetail, deviceHealth, alertResponse, gatewayHealth];

/**
 * The work orders' dashboard (issue 19) over the `order_facts` (hub/orders/facts.ts); its queries are
 * checked on a real influxd by test/dashboards/orders-queries.test.ts with seeded order facts.
 */
export const ORDER_DASHBOARDS: readonly DashboardSpec[] = [workOrders];

/** Every dashboard scripts/gen-dashboards.ts writes. */
export const ALL_DASHBOARDS: readonly DashboardSpec[] = [...DASHBOARDS, ...ORDER_DASHBOARDS];
