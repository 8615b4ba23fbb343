import type { Logger } from '../../lib/log.js';
import type { EventType } from '../../protocol/index.js';
import type { SendOptions, SentEvent, SimKind } from './simulator.js';

/** Realistic traffic for the access-gate simulator: visits at a steady rate, as scenarios. */
export interface RunOptions {
  ratePerSecond: number;
  durationMs?: number;
  count?: number;
  /** Every n-th scenario is a forced door (default: about 3 % at random). */
  forcedEvery?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  /** Posts attempted, and of those, the ones without a 200 (or without any answer). */
  sent: number;
  failed: number;
  byType: Partial<Record<EventType, number>>;
  byKind: Partial<Record<SimKind, number>>;
}

export interface TrafficDeps {
  send(kind: SimKind, opts: SendOptions): Promise<SentEvent>;
  kinds: Readonly<Record<SimKind, { type: EventType }>>;
  random(): number;
  doors: number;
  log: Logger;
  /** The simulator's own stop signal. */
  halt: AbortSignal;
}

/** One visit at a door: mostly a pass then the door opening and closing; some denials; rare alarms. */
function scenario(d: TrafficDeps, n: number, forcedEvery: number | undefined): Array<[SimKind, SendOptions]> {
  const door = 1 + Math.floor(d.random() * d.doors);
  const at = (kinds: SimKind[]): Array<[SimKind, SendOptions]> => kinds.map((k) => [k, { door }]);
  if (forcedEvery !== undefined && n % forcedEvery === 0) return at(['forced', 'door-close']);
  const r = d.random();
  if (r < 0.42) return at(['card-ok', 'door-open', 'door-close']);
  if (r < 0.8) return at(['face-ok', 'door-open', 'door-close']);
  if (r < 0.88) return at(['card-unknown']);
  if (r < 0.95) return at(['face-fail']);
  if (r < 0.98 && forcedEvery === undefined) return at(['forced', 'door-close']);
  return at(['card-ok', 'door-open', 'held', 'door-close']);
}

function sleep(d: TrafficDeps, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      d.halt.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    d.halt.addEventListener('abort', done, { once: true });
  });
}

export async function runTraffic(d: TrafficDeps, o: RunOptions): Promise<RunResult> {
  if (!(o.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0');
  if (o.count === undefined && o.durationMs === undefined && !o.signal) {
    throw new TypeError('run needs count, durationMs or signal, or it never ends');
  }
  const result: RunResult = { sent: 0, failed: 0, byType: {}, byKind: {} };
  const start = Date.now();
  const interval = 1000 / o.ratePerSecond;
  const over = (): boolean =>
    d.halt.aborted ||
    o.signal?.aborted === true ||
    (o.count !== undefined && result.sent >= o.count) ||
    (o.durationMs !== undefined && Date.now() - start >= o.durationMs);
  for (let n = 1; !over(); n++) {
    for (const [kind, sendOpts] of scenario(d, n, o.forcedEvery)) {
      await sleep(d, start + result.sent * interval - Date.now(), o.signal);
      if (over()) break;
      result.sent += 1;
      result.byKind[kind] = (result.byKind[kind] ?? 0) + 1;
      const type = d.kinds[kind].type;
      result.byType[type] = (result.byType[type] ?? 0) + 1;
      try {
        if ((await d.send(kind, sendOpts)).status !== 200) result.failed += 1;
      } catch (err) {
        result.failed += 1;
        d.log.warn({ err, kind }, 'simulated isapi post failed');
      }
    }
  }
  return result;
}
