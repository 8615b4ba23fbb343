import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from '../config.js';
import { createInfluxStore } from './influx.js';
import { createSqliteStore } from './sqlite.js';
import type { EventStore } from './types.js';

export type { EventStore, EventQuery } from './types.js';
export type { InfluxEventStore, InfluxStoreStats } from './influx.js';

/**
 * InfluxDB when `influxUrl` (RB_INFLUX_URL) is set, with its spool in the data dir; else the
 * embedded SQLite store in the data dir.
 */
export function createStore(config: HubConfig, log: Logger): EventStore {
  return config.influxUrl
    ? createInfluxStore({
        url: config.influxUrl,
        log,
        spoolFile: join(config.dataDir, 'influx-spool.db'),
        batchSize: config.influxBatchSize,
        flushMs: config.influxFlushMs,
        retention: { raw: config.influxRawRetention, hourly: config.influxHourlyRetention },
        journal: true, // ack at local-disk latency; InfluxDB round trips off the ingest path
      })
    : createSqliteStore({ file: join(config.dataDir, 'events.db'), log: log });
}
