import type { Logger } from 'pino';
import type { Bus, BusEvents } from '../bus.js';
import type { DeliveredKind, LogEntry, LogEntryInput } from './log.js';

/** Bus names of the log's kinds: what a committed entry is emitted as. */
export const BUS_NAME = {
  event: 'event',
  status: 'gateway.status',
  connection: 'gateway.connection',
  snapshot: 'snapshot',
  'command.result': 'command.result',
} as const satisfies Record<DeliveredKind, keyof BusEvents>;
export type LoggedName = (typeof BUS_NAME)[DeliveredKind];
export const KIND_OF = Object.fromEntries(Object.entries(BUS_NAME).map(([k, v]) => [v, k])) as Record<LoggedName, DeliveredKind>;
export const isLogged = (name: keyof BusEvents): name is LoggedName => Object.hasOwn(KIND_OF, name);

/** The log entry of a bus message that is logged: its key (duplicates) and estate. */
export function entryOf<K extends LoggedName>(name: K, payload: BusEvents[K]): LogEntryInput {
  const kind = KIND_OF[name];
  switch (name) {
    case 'event': {
      const e = payload as BusEvents['event'];
      return { key: e.id, kind, estate: e.estate, body: e };
    }
    case 'snapshot': {
      const l = payload as BusEvents['snapshot'];
      return { key: `snapshot:${l.eventId}:${l.sha256}`, kind, estate: l.estate, body: l };
    }
    case 'command.result': {
      const r = payload as BusEvents['command.result'];
      // The gateway answers a command id it already ran with the first result again, marked
      // `duplicate` (gateway/commands.ts): that answer is news to whoever sent the second copy, so
      // each one is a new entry (it carries the first result's time, so nothing in it tells two such
      // answers apart); only the first answer is keyed by the command id.
      const dup = r.result.duplicate ? `:dup:${crypto.randomUUID()}` : '';
      return { key: `result:${r.estate}/${r.gateway}:${r.result.id}${dup}`, kind, estate: r.estate, body: r };
    }
    default: {
      // Statuses and connection changes have no id of their own: each one is new.
      const s = payload as { estate: string };
      return { key: `${kind}:${crypto.randomUUID()}`, kind, estate: s.estate, body: payload };
    }
  }
}


/** A listener of logged messages: the payload and its log position. */
export type LogListener = (payload: never, pos: number) => void | Promise<void>;

/**
 * The bus a producer or a consumer sees: logged messages it emits are appended to the log (and
 * delivered once committed); listeners of logged messages go to `listeners` (the consumer's, by
 * kind), the rest straight to the in-process bus. `listeners` undefined: a producer's view.
 */
export function logBus(bus: Bus, listeners: Map<DeliveredKind, Set<LogListener>> | undefined, append: (entries: readonly LogEntryInput[]) => Promise<unknown>, logger: Logger): Bus {
  return {
    on(name, listener) {
      if (!listeners || !isLogged(name)) return bus.on(name, listener);
      const kind = KIND_OF[name];
      let set = listeners.get(kind);
      if (!set) listeners.set(kind, (set = new Set()));
      set.add(listener as LogListener);
      return () => set.delete(listener as LogListener);
    },
    emit(name, payload) {
      if (!isLogged(name)) return bus.emit(name, payload);
      append([entryOf(name, payload as BusEvents[typeof name])]).catch((err: unknown) => logger.error({ err, kind: name }, 'log append failed; message not delivered'));
    },
  };
}

/**
 * Hand one committed entry to a consumer's listeners. A listener that returns a promise keeps the
 * entry's position in `unsettled()` until it settles, so the consumer's cursor is not saved past work
 * still in flight; a listener's failure is logged, never thrown.
 */
export function callListeners(set: ReadonlySet<LogListener>, entry: LogEntry, unsettled: () => number[], logger: Logger, consumer: string): void {
  for (const listener of set) {
    try {
      const result = (listener as unknown as (payload: unknown, pos: number) => unknown)(entry.body, entry.pos);
      if (result && typeof (result as Promise<void>).then === 'function') {
        const list = unsettled();
        list.push(entry.pos);
        (result as Promise<void>)
          .catch((err: unknown) => logger.error({ err, consumer, kind: entry.kind }, 'log consumer failed'))
          .finally(() => {
            const i = list.indexOf(entry.pos);
            if (i >= 0) list.splice(i, 1);
          });
      }
    } catch (err) {
      logger.error({ err, consumer, kind: entry.kind }, 'log consumer failed');
    }
  }
}
