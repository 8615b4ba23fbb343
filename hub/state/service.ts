import type { Logger } from 'pino';
import type { EventType, RbEvent } from '../../protocol/index.js';
import type { Bus } from '../bus.js';
import type { EventStore } from '../store/types.js';
import { nextMidnight } from './clock.js';
import { createCoalescer, type Coalescer } from './coalesce.js';
import { apply, tick } from './reducer.js';
import { createLiveState, StateOptionsSchema, type ApplyResult, type LiveState, type StateInput, type StateOptions, type StateOptionsInput } from './types.js';
import { deviceDetail, estateView, summaries } from './views.js';

export interface StateServiceDeps {
  bus: Bus;
  log: Logger;
  options?: StateOptionsInput | undefined;
  /** Seed doors, barriers, cameras and today's occupancy from the store at start (optional). */
  store?: Pick<EventStore, 'query'> | undefined;
}

export interface StateService {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly options: StateOptions;
  summaries(): ReturnType<typeof summaries>;
  estate(estate: string): ReturnType<typeof estateView> | undefined;
  device(estate: string, device: string): ReturnType<typeof deviceDetail>;
  has(estate: string): boolean;
  /** The raw state (tests, diagnostics). */
  readonly live: LiveState;
}

const SEED_TYPES: EventType[] = [
  'door.opened', 'door.closed', 'door.forced', 'door.held',
  'barrier.opened', 'barrier.closed', 'barrier.fault',
  'camera.motion', 'camera.tamper', 'camera.signalLoss',
];
const SEED_LIMIT = 10_000;
const SEED_WINDOW_MS = 24 * 3_600_000;

/**
 * Live state of every estate, fed only by the bus (`event`, `gateway.status`, `gateway.connection`);
 * every change goes out on the bus as `state`, coalesced per key (hub/state/coalesce.ts). Timers:
 * one per device waiting out its hysteresis, one for the next local midnight.
 */
export function createStateService(deps: StateServiceDeps): StateService {
  const { bus, log } = deps;
  const options = StateOptionsSchema.parse(deps.options ?? {});
  const live = createLiveState();
  const wakeTimers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  let midnight: NodeJS.Timeout | undefined;
  let coalescer: Coalescer | undefined;
  const unsubscribe: Array<() => void> = [];
  let running = false;

  function handle(result: ApplyResult): void {
    for (const change of result.changes) coalescer?.push(change);
    for (const w of result.wake) {
      const id = `${w.estate}/${w.device}`;
      const cur = wakeTimers.get(id);
      if (cur?.at === w.at) continue;
      if (cur) clearTimeout(cur.timer);
      const timer = setTimeout(() => {
        wakeTimers.delete(id);
        handle(tick(live, Date.now(), options, { estate: w.estate, device: w.device }));
      }, Math.max(0, w.at - Date.now()));
      timer.unref?.();
      wakeTimers.set(id, { timer, at: w.at });
    }
  }

  function feed(input: StateInput): void {
    if (!running) return;
    const before = live.refused;
    handle(apply(live, input, Date.now(), options));
    if (live.refused > before) log.warn({ refused: live.refused, maxEstates: options.maxEstates, maxDevicesPerEstate: options.maxDevicesPerEstate }, 'live state bound reached; input ignored');
  }

  function armMidnight(): void {
    const now = Date.now();
    midnight = setTimeout(() => {
      handle(tick(live, Date.now(), options));
      armMidnight();
    }, nextMidnight(now, options.timeZone) - now);
    midnight.unref?.();
  }

  /** Ids of the events the seed applied (at most a few SEED_LIMITs), each skipped once when the log delivers it. */
  const seeded = new Set<string>();
  async function seed(store: Pick<EventStore, 'query'>): Promise<void> {
    const now = Date.now();
    const midnightAgo = nextMidnight(now, options.timeZone) - 86_400_000;
    const batches = await Promise.all([
      ...SEED_TYPES.map((type) => store.query({ type, from: now - SEED_WINDOW_MS, limit: SEED_LIMIT })),
      ...(['vehicle.entered', 'vehicle.exited'] as const).map((type) => store.query({ type, from: midnightAgo, limit: SEED_LIMIT })),
    ]);
    if (batches.some((b) => b.length >= SEED_LIMIT)) log.warn({ limit: SEED_LIMIT }, 'state seed hit its limit; older events left out');
    const events: RbEvent[] = batches.flat().sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    for (const event of events) {
      seeded.add(event.id);
      handle(apply(live, { kind: 'event', event }, Date.now(), options));
    }
    log.info({ events: events.length, estates: live.estates.size }, 'live state seeded from the store');
  }

  return {
    options,
    live,
    async start() {
      coalescer = createCoalescer(options.coalesceMs, (change) => bus.emit('state', change));
      running = true;
      if (deps.store) await seed(deps.store).catch((err: unknown) => log.warn({ err }, 'state seed from the store failed; starting empty'));
      unsubscribe.push(
        // The event log resumes this consumer from its cursor after a restart: an event the seed
        // has applied already (it was stored before the restart) is not applied twice.
        bus.on('event', (event) => {
          if (seeded.size > 0 && seeded.delete(event.id)) return;
          feed({ kind: 'event', event });
        }),
        bus.on('gateway.status', (status) => feed({ kind: 'status', status })),
        bus.on('gateway.connection', (c) => feed({ kind: 'connection', ...c })),
      );
      armMidnight();
      // The resume runs right after start (hub/main.ts): past it, the seed's ids are no longer needed.
      setTimeout(() => seeded.clear(), 60_000).unref?.();
    },
    async stop() {
      running = false;
      for (const off of unsubscribe.splice(0)) off();
      for (const { timer } of wakeTimers.values()) clearTimeout(timer);
      wakeTimers.clear();
      clearTimeout(midnight);
      coalescer?.stop();
    },
    summaries: () => summaries(live),
    has: (estate) => live.estates.has(estate),
    estate(estate) {
      const es = live.estates.get(estate);
      return es ? estateView(es) : undefined;
    },
    device(estate, device) {
      const es = live.estates.get(estate);
      return es ? deviceDetail(es, device) : undefined;
    },
  };
}
