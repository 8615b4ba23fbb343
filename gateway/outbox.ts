import type { RbEvent } from '../protocol/index.js';
import { isAlarmEvent } from '../protocol/index.js';

/** Where replay starts in each lane: the highest seq already handed to the uplink in this connection. */
export interface OutboxCursor {
  alarm: number;
  routine: number;
}

/** A pending event as stored: its JSON body ready to publish, without parsing it again. */
export interface OutboxRecord {
  seq: number;
  device: string;
  alarm: boolean;
  body: string;
}

export interface OutboxStats {
  /** Events waiting for a PUBACK. */
  depth: number;
  /** Alarm-class events among them. */
  alarms: number;
  /** Bytes of their JSON bodies. */
  bytes: number;
  /** When the oldest waiting event was appended (ms since epoch), or null when empty. */
  oldestAppendedAt: number | null;
  /** Routine events dropped to make room, over the outbox's whole life (persisted). */
  droppedTotal: number;
  /** Routine events dropped since this process started. */
  droppedSinceStart: number;
  /** Configured caps. */
  maxRecords: number;
  maxBytes: number;
}

export type AppendResult =
  /** Kept. `evicted` routine events (oldest first) were dropped to make room; each is counted. */
  | { stored: true; evicted: number }
  /** A routine event refused because the outbox is full of alarms (or the disk is full); counted. */
  | { stored: false; reason: 'full' | 'disk-full' };

/**
 * The gateway's queue of events not yet acknowledged by the hub (conformance suite:
 * test/gateway/outbox/contract.ts).
 *
 * - `append` resolves once the event is kept (durably, for a persistent implementation). An event
 *   leaves only through `ack` (the uplink calls it on PUBACK) or, if routine, by eviction when the
 *   outbox is at a cap. Alarm-class events are never evicted or refused: they may exceed the caps.
 * - `read` returns pending events after the cursor: alarms first (by seq), then routine (by seq). Per
 *   device order within a lane is therefore the order of append.
 * - `nextSeq` never repeats, across restarts too, for a persistent implementation.
 */
export interface Outbox {
  start(): Promise<void>;
  stop(): Promise<void>;
  nextSeq(): number;
  append(event: RbEvent): Promise<AppendResult>;
  /** Pending records after the cursor, in replay order (what the uplink publishes). */
  readRecords(cursor: OutboxCursor, limit: number): OutboxRecord[];
  /** The same as parsed events, for inspection and tests. */
  read(cursor: OutboxCursor, limit: number): RbEvent[];
  ack(seq: number): void;
  stats(): OutboxStats;
}

export interface OutboxCaps {
  maxRecords?: number;
  maxBytes?: number;
}

/** Keeps events in memory: nothing survives a crash. For unit tests and as the reference behaviour. */
export function createMemoryOutbox(caps: OutboxCaps = {}): Outbox {
  const maxRecords = caps.maxRecords ?? 1_000_000;
  const maxBytes = caps.maxBytes ?? 512 * 1024 * 1024;
  // seq -> entry; Maps iterate in insertion order, which is seq order.
  type Entry = { event: RbEvent; body: string; bytes: number; at: number };
  const lanes = { alarm: new Map<number, Entry>(), routine: new Map<number, Entry>() };
  let seq = 0;
  let bytes = 0;
  let dropped = 0;
  /** Routine seqs the uplink read and has not acknowledged; and those of them evicted meanwhile (see settle). */
  const handedOut = new Set<number>();
  const evictedInFlight = new Set<number>();
  const size = () => lanes.alarm.size + lanes.routine.size;
  /** The uplink reads again from before an evicted in-flight event (its publish failed or the link dropped): it is lost now. */
  const settle = (after: number) => {
    for (const s of evictedInFlight) {
      if (s > after) {
        evictedInFlight.delete(s);
        dropped++;
      }
    }
  };
  const remove = (lane: Map<number, Entry>, s: number) => {
    const e = lane.get(s);
    if (!e) return;
    bytes -= e.bytes;
    lane.delete(s);
  };
  return {
    async start() {},
    async stop() {},
    nextSeq: () => ++seq,
    async append(event) {
      const body = JSON.stringify(event);
      const entryBytes = Buffer.byteLength(body);
      const alarm = isAlarmEvent(event);
      let evicted = 0;
      while ((size() + 1 > maxRecords || bytes + entryBytes > maxBytes) && lanes.routine.size > 0) {
        const oldest = lanes.routine.keys().next().value as number;
        remove(lanes.routine, oldest);
        // Already in the uplink's hands: dropped only if its PUBACK never comes (settle).
        if (handedOut.delete(oldest)) evictedInFlight.add(oldest);
        else evicted++;
      }
      dropped += evicted;
      if (!alarm && (size() + 1 > maxRecords || bytes + entryBytes > maxBytes)) {
        dropped++;
        return { stored: false, reason: 'full' };
      }
      (alarm ? lanes.alarm : lanes.routine).set(event.seq, { event, body, bytes: entryBytes, at: Date.now() });
      bytes += entryBytes;
      return { stored: true, evicted };
    },
    readRecords(cursor, limit) {
      settle(cursor.routine);
      const out: OutboxRecord[] = [];
      for (const [lane, after, alarm] of [[lanes.alarm, cursor.alarm, true], [lanes.routine, cursor.routine, false]] as const) {
        for (const [seq, e] of lane) {
          if (out.length >= limit) return out;
          if (seq <= after) continue;
          out.push({ seq, device: e.event.device, alarm, body: e.body });
          if (!alarm) handedOut.add(seq);
        }
      }
      return out;
    },
    read(cursor, limit) {
      return this.readRecords(cursor, limit).map((r) => JSON.parse(r.body) as RbEvent);
    },
    ack(s) {
      handedOut.delete(s);
      if (evictedInFlight.delete(s)) return; // evicted while in flight, and it arrived: not dropped
      remove(lanes.alarm, s);
      remove(lanes.routine, s);
    },
    stats() {
      let oldest: number | null = null;
      for (const lane of [lanes.alarm, lanes.routine]) {
        const first = lane.values().next().value as Entry | undefined;
        if (first && (oldest === null || first.at < oldest)) oldest = first.at;
      }
      return {
        depth: size(),
        alarms: lanes.alarm.size,
        bytes,
        oldestAppendedAt: oldest,
        droppedTotal: dropped,
        droppedSinceStart: dropped,
        maxRecords,
        maxBytes,
      };
    },
  };
}
