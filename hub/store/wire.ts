import type { Logger } from 'pino';
import type { HubConfig } from '../config.js';
import type { LogFeed } from '../eventlog/index.js';
import type { Metrics } from '../metrics.js';
import type { HubDatabase } from '../platform/db/index.js';
import { createFacts, type FactsWriter } from './facts.js';
import { createStore, type EventStore } from './index.js';
import { createInfluxSink, type InfluxSink } from './influx-sink.js';
import type { InfluxEventStore } from './influx.js';
import { registerSinkMetrics, registerStoreMetrics } from './metrics.js';

export interface EventStoreWiring {
  store: EventStore;
  /** InfluxDB only: the event-log consumer that writes its events. */
  influxSink: InfluxSink | undefined;
  facts: FactsWriter;
}

/**
 * The hub's event store, wired (composition, for hub/main.ts): the configured store (the hub database,
 * or InfluxDB fed from the event log by its sink, a consumer with its cursor) with its metrics, and the facts for the dashboards.
 */
export function wireEventStore(deps: { config: HubConfig; log: Logger; hubDb: HubDatabase; feed: LogFeed; metrics: Metrics; store?: EventStore | undefined }): EventStoreWiring {
  const { config, log, hubDb, feed, metrics } = deps;
  const store = deps.store ?? createStore(config, log, hubDb);
  registerStoreMetrics(metrics, store);
  // InfluxDB takes its events from the log, as a consumer with its cursor (hub/store/influx-sink.ts).
  const influxSink =
    store.kind === 'influxdb'
      ? createInfluxSink({ store: store as InfluxEventStore, feed, db: hubDb, log: log.child({ module: 'hub.store.influx' }), maxBacklog: config.influx.maxBacklog })
      : undefined;
  if (influxSink) registerSinkMetrics(metrics, influxSink);
  const facts = createFacts(store, log.child({ module: 'hub.facts' }));
  return { store, influxSink, facts };
}
