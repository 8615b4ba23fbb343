import { createOnvifDriver, OnvifOptions, type OnvifDriver } from '../../../devices/onvif-camera/driver.js';
import { createOnvifSimulator, type OnvifSimulator, type OnvifSimulatorOptions } from '../../../devices/onvif-camera/simulator.js';
import type { DraftEvent, DriverCommand, RequestOutcome } from '../../../devices/types.js';
import { silentLogger, type Logger } from '../../../lib/log.js';
import type { CommandName } from '../../../protocol/index.js';

export const USER = 'operator';
export const PASS = 'Cam-Secret-2718';

/** Fast timings so offline/online and pulls happen in test time. */
export const FAST = { pollMs: 60, offlineAfterFails: 3, onlineAfterOks: 2, pullTimeoutS: 1, requestTimeoutMs: 1_000 };

export async function startSim(o: Partial<OnvifSimulatorOptions> = {}): Promise<OnvifSimulator> {
  const sim = createOnvifSimulator({ username: USER, password: PASS, maxPullWaitMs: 2_000, ...o });
  await sim.start();
  return sim;
}

export interface Run {
  driver: OnvifDriver;
  drafts: DraftEvent[];
  /** Every request the driver reported to its meter. */
  requests: Array<{ op: string; outcome: RequestOutcome }>;
  stop(): Promise<void>;
}

/** `sim`: the simulator, or the device service URL of one that is not started yet. */
export async function startDriver(sim: OnvifSimulator | string, options: Record<string, unknown> = {}, log: Logger = silentLogger()): Promise<Run> {
  const raw = { address: typeof sim === 'string' ? sim : sim.deviceUrl(), username: USER, password: PASS, ...FAST, ...options };
  const opts = OnvifOptions.parse(raw);
  const drafts: DraftEvent[] = [];
  const requests: Run['requests'] = [];
  const driver = createOnvifDriver({
    estate: 'e1',
    gateway: 'g1',
    device: { id: 'cam-1', driver: 'onvif', options: raw },
    options: opts,
    log,
    hash: (v) => v,
    emit: async (d) => void drafts.push(d),
    routes: { register: () => undefined, unregister: () => undefined },
    meter: { request: (op, outcome) => void requests.push({ op, outcome }) },
  });
  await driver.start();
  return { driver, drafts, requests, stop: () => driver.stop() };
}

let seq = 0;
export function command(name: CommandName, args: Record<string, unknown> = {}): DriverCommand {
  seq += 1;
  return { id: `01J0000000000000000000${String(seq).padStart(4, '0')}`, name, args, signal: AbortSignal.timeout(5_000) };
}

export async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
