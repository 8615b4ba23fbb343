import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from '../config.js';
import type { HubDatabase } from '../platform/db/index.js';
import { createInfluxStore } from './influx.js';
import { createSqliteStore } from './sqlite.js';
import type { EventStore } from './types.js';

export type { EventStore, EventQuery } from './types.js';
export type { InfluxEventStore, InfluxStoreStats } from './influx.js';

/**
 * InfluxDB when `influx.url` (RB_INFLUX_URL) is set, with its spool in the data dir; else the
 * events table of the hub database (`{dataDir}/hub.db`, or PostgreSQL).
 */
export function createStore(config: HubConfig, log: Logger, db: HubDatabase): EventStore {
  return config.influx.url
    ? createInfluxStore({
        url: config.influx.url,
        log,
        spoolFile: join(config.dataDir, 'influx-spool.db'),
        batchSize: config.influx.batchSize,
        flushMs: config.influx.flushMs,
        retention: { raw: config.influx.rawRetention, hourly: config.influx.hourlyRetention },
        // Written from the event log (hub/store/influx-sink.ts): ingest acks once the log has an event.
        linger: true,
      })
    : createSqliteStore({ db, log });
}
