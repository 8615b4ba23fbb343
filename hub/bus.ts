import type { Logger } from 'pino';
import type { CommandResult, GatewayStatus, RbEvent } from '../protocol/index.js';
import type { SnapshotLink } from './snapshots.js';
import type { StateChange } from './state/types.js';

/** The order of one gateway's MQTT connections, across hub nodes (hub/broker/sessions.ts). */
export interface ConnectionKey {
  /**
   * Gateway time when it opened the connection: the `ts` of the Last Will it sent in CONNECT (the
   * gateway stamps its will at each connect, gateway/uplink.ts). Absent when the will has no `ts`.
   */
  since?: number;
  /** Hub time the node accepted the connection: breaks ties (older gateways stamp their will once). */
  at: number;
}

/** Whether connection `a` is older than `b`: gateway time first, then hub time. */
export function olderConnection(a: ConnectionKey, b: ConnectionKey): boolean {
  if (a.since !== undefined && b.since !== undefined && a.since !== b.since) return a.since < b.since;
  return a.at < b.at;
}

/** Everything that flows downstream of ingest, as one typed map. */
export interface BusEvents {
  /** An event, accepted and durable in the store (once per event id). */
  event: RbEvent;
  /** A gateway status message (online, heartbeat, offline, LWT). */
  'gateway.status': GatewayStatus;
  /**
   * A gateway's MQTT connection opened or closed. `since`/`at` order its connections across nodes
   * (hub/broker/sessions.ts); absent in entries logged before they existed.
   */
  'gateway.connection': { estate: string; gateway: string; connected: boolean } & Partial<ConnectionKey>;
  /** An incident snapshot stored and linked to its event. */
  snapshot: SnapshotLink;
  /** A gateway's answer to a command. */
  'command.result': { estate: string; gateway: string; result: CommandResult };
  /** A live-state change (hub/state), coalesced: at most one per estate/kind/key per 250 ms, last value wins. */
  state: StateChange;
}

/**
 * `pos`: the entry's position in the event log, for listeners of a log consumer (hub/eventlog/feed.ts)
 * that commit their own cursor with their output (push); absent on the plain bus.
 */
type Listener<K extends keyof BusEvents> = (payload: BusEvents[K], pos?: number) => void | Promise<void>;

export interface Bus {
  on<K extends keyof BusEvents>(name: K, listener: Listener<K>): () => void;
  emit<K extends keyof BusEvents>(name: K, payload: BusEvents[K]): void;
}

/**
 * In-process bus. Every listener is wrapped: one that throws or rejects is logged and the others still
 * run, so a failing part never takes down ingest.
 */
export function createBus(log: Logger): Bus {
  const listeners = new Map<keyof BusEvents, Set<Listener<never>>>();
  return {
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener as Listener<never>);
      return () => set.delete(listener as Listener<never>);
    },
    emit(name, payload) {
      const set = listeners.get(name);
      if (!set) return;
      for (const listener of set) {
        try {
          const result = (listener as Listener<typeof name>)(payload);
          if (result && typeof (result as Promise<void>).catch === 'function') {
            (result as Promise<void>).catch((err: unknown) => log.error({ err, bus: name }, 'bus listener failed'));
          }
        } catch (err) {
          log.error({ err, bus: name }, 'bus listener failed');
        }
      }
    },
  };
}
