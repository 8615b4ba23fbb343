import type { Logger } from 'pino';
import type { RbEvent } from '../protocol/index.js';
import type { AppendResult, Outbox } from './outbox.js';

type PressureData = Extract<RbEvent, { type: 'gateway.outbox.pressure' }>['data'];

export interface PressureDeps {
  outbox: Outbox;
  log: Logger;
  /** Send a `gateway.outbox.pressure` event (itself alarm class, so never dropped). */
  emit(data: PressureData): Promise<void>;
  /** Called when pressure starts or ends, e.g. to publish a status at once. */
  onChange(active: boolean): void;
  /** Least time between two pressure events while the pressure lasts. */
  repeatMs?: number;
  /** Pressure ends after this long without a drop. */
  quietMs?: number;
}

/**
 * Says out loud when the outbox drops routine events: one pressure event when drops start, one more at
 * most every `repeatMs` while they go on (with the running counts), a status change at start and end.
 */
export function createPressureMonitor(deps: PressureDeps) {
  const repeatMs = deps.repeatMs ?? 60_000;
  const quietMs = deps.quietMs ?? 30_000;
  let active = false;
  let lastEventAt = 0;
  let lastDropAt = 0;
  let timer: NodeJS.Timeout | undefined;

  function report(reason: PressureData['reason']): void {
    const s = deps.outbox.stats();
    lastEventAt = Date.now();
    deps
      .emit({
        reason,
        depth: s.depth,
        bytes: s.bytes,
        maxRecords: s.maxRecords,
        maxBytes: s.maxBytes,
        droppedTotal: s.droppedTotal,
        droppedSinceStart: s.droppedSinceStart,
      })
      .catch((err: unknown) => deps.log.error({ err }, 'pressure event not queued'));
  }

  function checkQuiet(): void {
    if (active && Date.now() - lastDropAt >= quietMs) {
      active = false;
      deps.log.info(deps.outbox.stats(), 'outbox pressure over');
      deps.onChange(false);
    } else if (active) {
      timer = setTimeout(checkQuiet, quietMs).unref();
    }
  }

  return {
    active: () => active,
    observe(result: AppendResult): void {
      const dropped = result.stored ? result.evicted : 1;
      if (dropped === 0) return;
      lastDropAt = Date.now();
      const reason = !result.stored && result.reason === 'disk-full' ? 'disk-full' : 'cap';
      if (!active) {
        active = true;
        deps.log.warn({ ...deps.outbox.stats(), reason }, 'outbox at its cap: dropping the oldest routine events (alarms are kept)');
        deps.onChange(true);
        report(reason);
        timer = setTimeout(checkQuiet, quietMs).unref();
      } else if (Date.now() - lastEventAt >= repeatMs) {
        report(reason);
      }
    },
    stop(): void {
      if (timer) clearTimeout(timer);
    },
  };
}
