import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Cost of one hostile case: wall time, RSS growth and the longest event-loop block.
 *
 * - GC: `global.gc` when the worker runs with --expose-gc; otherwise the flag is switched on at run time
 *   and a fresh context hands out `gc` (a V8 feature Node exposes through `v8.setFlagsFromString`), so
 *   the numbers do not depend on how vitest was started.
 * - RSS: after a full GC, before and after the case; plus the peak sampled every 10 ms during it, so a
 *   200 MiB body that was buffered and freed again cannot hide.
 * - Event loop: `monitorEventLoopDelay({ resolution: 10 })` records the interval between its 10 ms ticks;
 *   the block is its maximum minus those 10 ms (or a 5 ms probe's longest late tick, if longer).
 */
export const LIMITS = { rssMiB: 20, blockMs: 50 } as const;
const RESOLUTION_MS = 10;
const MiB = 1024 * 1024;

function findGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = findGc();

export interface Cost {
  case: string;
  ms: number;
  rssGrowthMiB: number;
  rssPeakGrowthMiB: number;
  maxBlockMs: number;
}

export const report: Cost[] = [];

/** Run `fn` and measure it; the result (or the error it threw) comes back with the cost. */
export async function measure<T>(name: string, fn: () => Promise<T>): Promise<{ value: T | undefined; error: unknown; cost: Cost }> {
  gc();
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loop.enable();
  // The histogram records the interval between two ticks, so its first tick records nothing: let it
  // tick before the case starts and once more after it ends, or a block at either edge goes unseen.
  // A plain 5 ms probe runs beside it and keeps the same books from its very first tick.
  let last = performance.now();
  let probeMax = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    probeMax = Math.max(probeMax, now - last - 5);
    last = now;
  }, 5);
  await sleep(2.5 * RESOLUTION_MS);
  const started = performance.now();
  let value: T | undefined;
  let error: unknown;
  try {
    value = await fn();
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - started;
  await sleep(2.5 * RESOLUTION_MS);
  clearInterval(probe);
  loop.disable();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  gc();
  const after = process.memoryUsage.rss();
  const cost: Cost = {
    case: name,
    ms: Math.round(ms),
    rssGrowthMiB: round((after - before) / MiB),
    rssPeakGrowthMiB: round((peak - before) / MiB),
    // An empty histogram (case shorter than one tick) reports a huge min and max 0.
    maxBlockMs: round(Math.max(0, loop.max / 1e6 - RESOLUTION_MS, probeMax)),
  };
  report.push(cost);
  return { value, error, cost };
}

const round = (n: number): number => Math.round(n * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The limits every case must keep. */
export function withinLimits(c: Cost): { rss: boolean; peak: boolean; block: boolean } {
  return { rss: c.rssGrowthMiB < LIMITS.rssMiB, peak: c.rssPeakGrowthMiB < LIMITS.rssMiB, block: c.maxBlockMs < LIMITS.blockMs };
}

export function printReport(title: string): void {
  console.log(`\n${title}\n${'case'.padEnd(58)} ${'ms'.padStart(6)} ${'rss Δ'.padStart(7)} ${'peak Δ'.padStart(7)} ${'block'.padStart(6)}`);
  for (const c of report) {
    console.log(`${c.case.padEnd(58)} ${String(c.ms).padStart(6)} ${c.rssGrowthMiB.toFixed(1).padStart(7)} ${c.rssPeakGrowthMiB.toFixed(1).padStart(7)} ${c.maxBlockMs.toFixed(1).padStart(6)}`);
  }
}
