import type { Transaction } from 'kysely';
import type { RbEvent } from '../../protocol/index.js';
import type { Schema } from '../platform/db/schema.js';

export interface EventQuery {
  estate?: string | undefined;
  gateway?: string | undefined;
  device?: string | undefined;
  type?: string | undefined;
  /** Inclusive lower bound on the device time `ts`, ms. */
  from?: number | undefined;
  /** Exclusive upper bound on the device time `ts`, ms. */
  to?: number | undefined;
  /**
   * Keyset pagination: only events strictly older than this position in the (ts desc, seq desc,
   * id desc) order. Without `id`, strictly older in (ts desc, seq desc).
   */
  before?: EventPosition | undefined;
  /** At most this many, newest first. */
  limit: number;
}

/** A position in the newest-first order: the last event of a page. */
export interface EventPosition {
  ts: number;
  seq: number;
  id?: string | undefined;
}

/** Count buckets: each maps to a fixed width (and a fixed InfluxQL duration literal). */
export const COUNT_INTERVALS = {
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
} as const;
export type CountInterval = keyof typeof COUNT_INTERVALS;

export interface CountQuery {
  estate?: string | undefined;
  device?: string | undefined;
  type?: string | undefined;
  /** Inclusive lower bound on `ts`, ms. */
  from: number;
  /** Exclusive upper bound on `ts`, ms. */
  to: number;
  interval: CountInterval;
}

/** Events of one type in the bucket [start, start + interval); buckets without events are absent. */
export interface CountRow {
  /** Bucket start, ms, aligned to the epoch (UTC) in multiples of the interval. */
  start: number;
  type: string;
  count: number;
}

/** Checks shared by both stores' `counts`; throws RangeError. */
export function checkCountQuery(q: CountQuery): number {
  if (!Object.hasOwn(COUNT_INTERVALS, q.interval)) throw new RangeError(`interval must be one of ${Object.keys(COUNT_INTERVALS).join(', ')}, got ${String(q.interval)}`);
  for (const key of ['from', 'to'] as const) {
    if (!Number.isSafeInteger(q[key])) throw new RangeError(`${key} must be an integer ms time, got ${q[key]}`);
  }
  return COUNT_INTERVALS[q.interval];
}

/** Newest-first order of events: ts desc, then seq desc, then id desc (a total order). */
export function compareNewestFirst(a: { ts: number; seq: number; id: string }, b: { ts: number; seq: number; id: string }): number {
  return b.ts - a.ts || b.seq - a.seq || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Whether `e` comes strictly after `pos` in newest-first order (is strictly older). */
export function isBefore(e: { ts: number; seq: number; id: string }, pos: EventPosition): boolean {
  if (e.ts !== pos.ts) return e.ts < pos.ts;
  if (e.seq !== pos.seq) return e.seq < pos.seq;
  return pos.id !== undefined && e.id < pos.id;
}

/**
 * Where accepted events are kept. Implementations: embedded SQLite (default) and InfluxDB 1.x.
 * Both run the same contract suite (test/hub/store/contract.ts).
 *
 * - `write` resolves only once the events are durable; writing an event whose id is already stored
 *   stores nothing new (idempotent by id), so at-least-once delivery upstream stores each event once.
 * - `query` returns events newest first (by `ts`, then `seq`, then `id`), with every envelope field
 *   as written; `before` continues after the last event of the previous page.
 * - `counts` returns events per (bucket, type) in [from, to), ordered by start then type.
 */
export interface EventStore {
  /** `sqlite` / `postgres`: the events table of the hub database; `influxdb`: InfluxDB 1.x. */
  readonly kind: 'sqlite' | 'postgres' | 'influxdb';
  start(): Promise<void>;
  stop(): Promise<void>;
  write(events: readonly RbEvent[]): Promise<void>;
  /**
   * The store in the hub database only: write in the caller's transaction (ingest's, the one that
   * appends the batch to the event log), so an event is stored and logged or neither.
   */
  writeIn?(trx: Transaction<Schema>, events: readonly RbEvent[]): Promise<void>;
  query(q: EventQuery): Promise<RbEvent[]>;
  counts(q: CountQuery): Promise<CountRow[]>;
}
