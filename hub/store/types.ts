import type { RbEvent } from '../../protocol/index.js';

export interface EventQuery {
  estate?: string | undefined;
  gateway?: string | undefined;
  device?: string | undefined;
  type?: string | undefined;
  /** Inclusive lower bound on the device time `ts`, ms. */
  from?: number | undefined;
  /** Exclusive upper bound on the device time `ts`, ms. */
  to?: number | undefined;
  /** At most this many, newest first. */
  limit: number;
}

/**
 * Where accepted events are kept. Implementations: embedded SQLite (default) and InfluxDB 1.x.
 * Both run the same contract suite (test/hub/store/contract.ts).
 *
 * - `write` resolves only once the events are durable; writing an event whose id is already stored
 *   stores nothing new (idempotent by id), so at-least-once delivery upstream stores each event once.
 * - `query` returns events newest first (by `ts`, then `seq`), with every envelope field as written.
 */
export interface EventStore {
  readonly kind: 'sqlite' | 'influxdb';
  start(): Promise<void>;
  stop(): Promise<void>;
  write(events: readonly RbEvent[]): Promise<void>;
  query(q: EventQuery): Promise<RbEvent[]>;
}
