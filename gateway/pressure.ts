import type { Logger } from 'pino';
import type { RbEvent } from '../protocol/index.js';
import type { AppendResult, Outbox } from './outbox.js';

type PressureData = Extract<RbEvent, { type: 'gateway.outbox.pressure' }>['data'];

export interface PressureDeps {
  outbox: Outbox;
  log: Logger;
  /**
   * Queue a `gateway.outbox.pressure` event (itself alarm class, so never dropped); resolves once it
   * is in the outbox, with a promise that resolves when the hub has acknowledged it.
   */
  emit(data: PressureData): Promise<{ delivered: Promise<void> }>;
  /** Called when pressure starts or ends, e.g. to publish a status at once. */
  onChange(active: boolean): void;
  /** Least time between two pressure events while the pressure lasts. */
  repeatMs?: number;
  /** Pressure ends after this long without a drop. */
  quietMs?: number;
}

/**
 * Says out loud when the outbox drops routine events: one pressure event when drops start, one more
 * at most every `repeatMs` while they go on, and a closing one when they have stopped for `quietMs`;
 * a status change at start and end. Each event carries the counters of the moment it is made.
 *
 * The closing event is what makes the stored count true. Drops come in bursts while the uplink is
 * down: the first event was made at the first drop and said 1 or 2, and without a closing event the
 * hub never learnt that 854–901 had gone (measured, issue 15). The status that ends the pressure is
 * sent only after the hub has acknowledged that closing event: the hub raises gateway.pressure on the
 * event and clears it on a status without pressure, so the other order would reopen the alert of an
 * episode that is over.
 */
export function createPressureMonitor(deps: PressureDeps) {
  const repeatMs = deps.repeatMs ?? 60_000;
  const quietMs = deps.quietMs ?? 30_000;
  let active = false;
  let ending = false;
  let stopped = false;
  let reason: PressureData['reason'] = 'cap';
  let lastEventAt = 0;
  let lastDropAt = 0;
  /** droppedTotal in the last pressure event sent. */
  let reported = 0;
  let timer: NodeJS.Timeout | undefined;

  async function report(): Promise<{ delivered: Promise<void> }> {
    const s = deps.outbox.stats();
    lastEventAt = Date.now();
    reported = s.droppedTotal;
    return deps.emit({
      reason,
      depth: s.depth,
      bytes: s.bytes,
      maxRecords: s.maxRecords,
      maxBytes: s.maxBytes,
      droppedTotal: s.droppedTotal,
      droppedSinceStart: s.droppedSinceStart,
    });
  }

  /** Look again when `quietMs` will have passed since the last drop. */
  function later(): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void checkQuiet(), Math.max(1, lastDropAt + quietMs - Date.now())).unref();
  }

  async function checkQuiet(): Promise<void> {
    if (!active || ending) return;
    if (Date.now() - lastDropAt < quietMs) return later();
    ending = true;
    const quietSince = lastDropAt;
    try {
      // The closing report, when anything was dropped since the last one; then wait for the hub.
      if (deps.outbox.stats().droppedTotal !== reported) await (await report()).delivered;
    } catch (err) {
      deps.log.error({ err }, 'closing pressure event not queued');
    } finally {
      ending = false;
    }
    if (stopped) return;
    if (lastDropAt !== quietSince) return later(); // drops again while the hub was away: not over
    active = false;
    deps.log.info(deps.outbox.stats(), 'outbox pressure over');
    deps.onChange(false);
  }

  return {
    active: () => active,
    observe(result: AppendResult): void {
      const dropped = result.stored ? result.evicted : 1;
      if (dropped === 0) return;
      lastDropAt = Date.now();
      reason = !result.stored && result.reason === 'disk-full' ? 'disk-full' : 'cap';
      if (!active) {
        active = true;
        deps.log.warn({ ...deps.outbox.stats(), reason }, 'outbox at its cap: dropping the oldest routine events (alarms are kept)');
        deps.onChange(true);
        report().catch((err: unknown) => deps.log.error({ err }, 'pressure event not queued'));
        later();
      } else if (!ending && Date.now() - lastEventAt >= repeatMs) {
        report().catch((err: unknown) => deps.log.error({ err }, 'pressure event not queued'));
      }
    },
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
