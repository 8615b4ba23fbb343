import type { RbEvent } from '../protocol/index.js';
import { isAlarmType } from '../protocol/index.js';

/**
 * The gateway's queue of events not yet acknowledged by the hub. `append` resolves once the event is
 * kept (durably, for a persistent implementation); an event leaves only through `remove`, which the
 * uplink calls on PUBACK. The sequence number is the outbox's, so a persistent outbox keeps it
 * monotonic across restarts.
 */
export interface Outbox {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Take the next gateway sequence number. */
  nextSeq(): number;
  append(event: RbEvent): Promise<void>;
  /** Up to `limit` pending events not in `exclude`: alarms first, then oldest first (by seq). */
  pending(limit: number, exclude: ReadonlySet<string>): RbEvent[];
  remove(id: string): void;
  depth(): number;
}

/** Keeps events in memory: nothing survives a crash. Used until the durable outbox lands and in tests. */
export function createMemoryOutbox(): Outbox {
  const alarms = new Map<string, RbEvent>();
  const routine = new Map<string, RbEvent>();
  let seq = 0;
  return {
    async start() {},
    async stop() {},
    nextSeq: () => ++seq,
    async append(event) {
      (isAlarmType(event.type) ? alarms : routine).set(event.id, event);
    },
    pending(limit, exclude) {
      const out: RbEvent[] = [];
      for (const lane of [alarms, routine]) {
        for (const [id, event] of lane) {
          if (out.length >= limit) return out;
          if (!exclude.has(id)) out.push(event);
        }
      }
      return out;
    },
    remove(id) {
      if (!alarms.delete(id)) routine.delete(id);
    },
    depth: () => alarms.size + routine.size,
  };
}
