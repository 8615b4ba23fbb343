import type { EventType } from '../../protocol/index.js';
import { createDevices, type SimDevice } from './devices.js';
import { runIncidents } from './incidents.js';
import type { Plan } from './plan.js';
import { drawVisit, MIXES, typeOf, type DeviceKind, type ScenarioName, type StepOf, type Visit } from './scenarios.js';

export interface RunOptions {
  scenario: ScenarioName;
  /** Device events (pushes / notifications) in all, split over the devices; none: until duration or signal. */
  events?: number;
  /** Device events per second over all devices. */
  rate: number;
  durationS?: number;
  /** Access gates: every n-th visit is a forced door. */
  forcedEvery?: number;
  /** Scenarios with an incident script (demo): one round of incidents per this many ms (default 600 s). */
  incidentPeriodMs?: number;
  format: 'json' | 'multipart';
  /** How long cameras get for the gateway's driver to subscribe (ms). */
  readyTimeoutMs: number;
  /** Access gates and barriers re-post an event the gateway did not take for up to this long (ms); 0: never. */
  retryForMs?: number;
  progressEveryMs: number;
  random: () => number;
  signal: AbortSignal;
  progress: (line: string) => void;
}

export type ByType = Partial<Record<EventType, number>>;
export interface Counts {
  /** Device events attempted. */
  sent: number;
  /** Of those, the ones the gateway did not take (no 200, no answer, no camera subscription). */
  failed: number;
  /** The events the gateway took, by the type its driver makes of them: what the hub should store. */
  byType: ByType;
  /** Posts repeated because the gateway did not take an event (it was restarting, or said 503). */
  reposts: number;
}
export interface Summary extends Counts {
  scenario: ScenarioName;
  elapsedMs: number;
  byEstate: Record<string, Counts>;
}

const empty = (): Counts => ({ sent: 0, failed: 0, byType: {}, reposts: 0 });

/** Split `total` over `shares` in whole numbers that add up to it (largest remainder). */
export function allocate(total: number, shares: number[]): number[] {
  const sum = shares.reduce((a, b) => a + b, 0);
  const exact = shares.map((s) => (sum > 0 ? (total * s) / sum : 0));
  const out = exact.map(Math.floor);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0, left = total - out.reduce((a, b) => a + b, 0); k < left; k++) out[order[k % order.length]![1]]! += 1;
  return out;
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Run the scenario over every device of the plan; progress lines go to `progress`. */
export async function runScenario(plan: Plan, o: RunOptions): Promise<Summary> {
  const mix = MIXES[o.scenario];
  const hasCameras = plan.estates.some((e) => e.cameras.length > 0);
  if (o.scenario === 'camera-failure' && !hasCameras) {
    throw new Error('--scenario: camera-failure needs cameras; list them per estate in a --plan file');
  }
  const all: SimDevice[] = [];
  const summary: Summary = { scenario: o.scenario, elapsedMs: 0, sent: 0, failed: 0, byType: {}, reposts: 0, byEstate: {} };
  for (const e of plan.estates) summary.byEstate[e.estate] = empty();
  const retryForMs = o.retryForMs ?? 0;
  // Re-posts end with the run: at Ctrl+C, and at --duration (an event not taken by then counts as failed).
  // (A duration past what a timer can hold, such as the demo's year, is "until Ctrl+C".)
  const runOver = o.durationS !== undefined && o.durationS * 1000 < 2 ** 31 ? AbortSignal.any([o.signal, AbortSignal.timeout(o.durationS * 1000)]) : o.signal;
  const devices = {
    format: o.format,
    timeoutMs: 10_000,
    ...(retryForMs > 0 && { retry: { signal: runOver, giveUpAfterMs: retryForMs } }),
    onRepost: (estate: string) => {
      summary.reposts += 1;
      summary.byEstate[estate]!.reposts += 1;
    },
  };
  try {
    for (const e of plan.estates) all.push(...(await createDevices(e, devices)));
  } catch (err) {
    await Promise.allSettled(all.map((d) => d.close()));
    throw err;
  }

  // Each device starts as soon as it is ready (a camera once its gateway has subscribed), so one slow
  // camera does not hold every gate back; a device not ready by the deadline is left out.
  const readyBy = Date.now() + o.readyTimeoutMs;
  let readyCount = 0;
  const shares = all.map((d) => mix.weight[d.kind]);
  const shareSum = shares.reduce((a, b) => a + b, 0);
  const counts = o.events !== undefined ? allocate(o.events, shares) : undefined;
  const startedAt = Date.now();
  const deadline = o.durationS !== undefined ? startedAt + o.durationS * 1000 : Infinity;

  const record = (d: SimDevice, step: string, ok: boolean): void => {
    const est = summary.byEstate[d.estate]!;
    for (const c of [summary, est] as Counts[]) {
      c.sent += 1;
      if (!ok) c.failed += 1;
      else {
        const type = typeOf(d.kind, step as StepOf[DeviceKind]);
        c.byType[type] = (c.byType[type] ?? 0) + 1;
      }
    }
  };

  async function lane(d: SimDevice, count: number | undefined, rate: number): Promise<void> {
    if (!(await d.ready(readyBy, o.signal))) {
      o.progress(`simulate: ${d.estate}/${d.label} (${d.kind}) not ready after ${o.readyTimeoutMs} ms: left out`);
      return;
    }
    readyCount += 1;
    if (count === 0 || !(rate > 0)) return;
    const interval = 1000 / rate;
    const laneStart = Date.now(); // a device that became ready late paces from then, not in a burst
    const visits = mix.visits[d.kind] as ReadonlyArray<Visit<DeviceKind>>;
    const access = d.kind === 'isapi' || d.kind === 'zkteco';
    let sent = 0;
    const over = (): boolean => runOver.aborted || Date.now() >= deadline || (count !== undefined && sent >= count);
    for (let n = 1; !over(); n++) {
      const steps = access && o.forcedEvery !== undefined && n % o.forcedEvery === 0 ? ['forced', 'door-close'] : drawVisit(visits, o.random);
      for (const step of steps) {
        await wait(Math.min(laneStart + sent * interval, deadline) - Date.now(), o.signal);
        if (over()) break;
        sent += 1;
        record(d, step, await d.send(step).catch(() => false));
      }
    }
  }

  const kinds = [...new Set(all.map((d) => d.kind))].join(', ');
  o.progress(
    `simulate: scenario ${o.scenario}, ${plan.estates.length} estate(s), ${all.length} device(s) (${kinds}), ` +
      `${o.rate} events/s${o.events !== undefined ? `, ${o.events} events` : ''}${o.durationS !== undefined ? `, up to ${o.durationS} s` : ''}`,
  );
  const line = (): string => {
    const secs = (Date.now() - startedAt) / 1000;
    return `simulate: ${Math.round(secs)}s, ${summary.sent}${o.events !== undefined ? `/${o.events}` : ''} events sent, ${summary.failed} failed, ${summary.reposts} re-posts, ${Math.round(summary.sent / Math.max(secs, 0.001))}/s`;
  };
  const ticker = setInterval(() => o.progress(line()), o.progressEveryMs);
  const endIncidents = new AbortController();
  const incidentSignal = AbortSignal.any([o.signal, endIncidents.signal]);
  const incidents = mix.incidents
    ? plan.estates.map((e, i) => {
        const periodMs = o.incidentPeriodMs ?? 600_000;
        return runIncidents({
          devices: all.filter((d) => d.estate === e.estate),
          periodMs,
          offsetMs: (i % 20) * 0.05 * periodMs, // estates a little apart, so the street does not flash at once
          deadline,
          readyBy,
          // With --events the run ends with the traffic (endIncidents); otherwise at --duration or Ctrl+C.
          over: () => incidentSignal.aborted || Date.now() >= deadline,
          wait: (ms) => wait(Math.min(ms, deadline - Date.now()), incidentSignal),
          signal: incidentSignal,
          record,
        });
      })
    : [];
  try {
    await Promise.all(all.map((d, i) => lane(d, counts?.[i], (o.rate * shares[i]!) / shareSum)));
    if (o.events !== undefined) endIncidents.abort();
    await Promise.all(incidents);
    if (readyCount === 0) throw new Error('no device is ready to send');
    // Cameras: give the driver's pending pull the time to fetch the last notifications.
    if (all.some((d) => d.kind === 'onvif')) await wait(1_500, o.signal);
  } finally {
    endIncidents.abort();
    clearInterval(ticker);
    await Promise.allSettled(all.map((d) => d.close()));
  }
  summary.elapsedMs = Date.now() - startedAt;
  o.progress(line());
  return summary;
}
