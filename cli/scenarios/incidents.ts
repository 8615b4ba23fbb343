import type { SimDevice } from './devices.js';

/**
 * The demo's incident script: once per incident period, every estate goes through each kind of
 * trouble the hub turns into an alert, one at a time, at known moments. With the demo's period
 * (600 s) and alert settings, the first alert (a forced door) comes at once, and every kind within
 * five minutes; the second half of the period is quiet. A test runs the same script with a period
 * of about a minute.
 *
 * Each step names the device by its role in the estate; a role the estate lacks falls back to a
 * device that can do the same (the second gate to the first, the ZKTeco controller to a Hikvision
 * one), or the step is left out (no camera, no barrier).
 */
export type Role = 'gate' | 'gate2' | 'controller' | 'barrier' | 'camera';

export interface IncidentStep {
  /** When, as a fraction of the period from the start of the round. */
  at: number;
  role: Role;
  step: string;
  /** A barrier step's plate. */
  plate?: string;
  /** Not in the first round (the overstaying visitor of the round before leaves). */
  notFirst?: boolean;
  /** The alert rule the step is there for (docs/alerts.md); for the reader and the tests. */
  raises?: string;
}

/** A visitor who stays a whole period (a plate on no list): vehicle.overstay with overstayMinutes below it. */
export const OVERSTAY_PLATE = '粤B8D888';

export const INCIDENTS: readonly IncidentStep[] = [
  { at: 0, role: 'barrier', step: 'visitor-out', plate: OVERSTAY_PLATE, notFirst: true },
  { at: 0, role: 'gate', step: 'forced', raises: 'door.forced' },
  { at: 0.002, role: 'barrier', step: 'visitor-in', plate: OVERSTAY_PLATE, raises: 'vehicle.overstay' },
  { at: 0.003, role: 'barrier', step: 'barrier-open' },
  { at: 0.006, role: 'barrier', step: 'barrier-close' },
  { at: 0.01, role: 'gate', step: 'door-close' },
  { at: 0.02, role: 'barrier', step: 'block', raises: 'plate.blocklisted' },
  { at: 0.03, role: 'gate2', step: 'card-ok' },
  { at: 0.031, role: 'gate2', step: 'door-open' },
  { at: 0.032, role: 'gate2', step: 'held', raises: 'door.held' },
  { at: 0.045, role: 'gate2', step: 'door-close' },
  { at: 0.05, role: 'camera', step: 'tamper-on', raises: 'device.tamper' },
  { at: 0.06, role: 'camera', step: 'tamper-off' },
  { at: 0.065, role: 'camera', step: 'signalLoss-on', raises: 'camera.signalLoss' },
  { at: 0.08, role: 'camera', step: 'signalLoss-off' },
  { at: 0.085, role: 'camera', step: 'motion-on', raises: 'motion.night' },
  { at: 0.087, role: 'camera', step: 'motion-off' },
  { at: 0.09, role: 'controller', step: 'tamper', raises: 'device.tamper' },
  ...[0.1, 0.102, 0.104, 0.106, 0.108].map((at, i): IncidentStep => ({ at, role: 'gate2', step: 'card-unknown', ...(i === 4 && { raises: 'access.denied.burst' }) })),
  { at: 0.11, role: 'barrier', step: 'fault', raises: 'barrier.fault' },
  { at: 0.112, role: 'barrier', step: 'barrier-close' },
  // Long enough for the gateway to call the camera offline and the hub to keep it so (camera.offline).
  { at: 0.12, role: 'camera', step: 'offline', raises: 'camera.offline' },
  { at: 0.32, role: 'camera', step: 'online' },
];

/** The device playing each role in one estate, if any. */
export function castRoles(devices: readonly SimDevice[]): Partial<Record<Role, SimDevice>> {
  const of = (kind: SimDevice['kind']): SimDevice[] => devices.filter((d) => d.kind === kind);
  const [isapi, zk, anpr, onvif] = [of('isapi'), of('zkteco'), of('anpr'), of('onvif')];
  const gate = isapi[0] ?? zk[0];
  const gate2 = isapi[1] ?? gate;
  return {
    ...(gate && { gate }),
    ...(gate2 && { gate2 }),
    ...((zk[0] ?? gate2) && { controller: zk[0] ?? gate2 }),
    ...(anpr[0] && { barrier: anpr[0] }),
    ...(onvif[0] && { camera: onvif[0] }),
  };
}

export interface IncidentRun {
  devices: readonly SimDevice[];
  periodMs: number;
  /** The first round starts this long after the run. */
  offsetMs: number;
  /** Stop before a step that comes later than this (ms since epoch), or when `over()` says so. */
  deadline: number;
  readyBy: number;
  over(): boolean;
  wait(ms: number): Promise<void>;
  signal: AbortSignal;
  /** Each step carried out (camera `offline`/`online` are not device events and are not recorded). */
  record(d: SimDevice, step: string, ok: boolean): void;
}

/** Run the script round after round until the run is over. */
export async function runIncidents(r: IncidentRun): Promise<void> {
  const cast = castRoles(r.devices);
  const start = Date.now() + r.offsetMs;
  for (let round = 0; !r.over(); round++) {
    for (const s of INCIDENTS) {
      const d = cast[s.role];
      if (!d || (s.notFirst && round === 0)) continue;
      const at = start + (round + s.at) * r.periodMs;
      if (at >= r.deadline) return;
      await r.wait(at - Date.now());
      if (r.over()) return;
      if (!(await d.ready(r.readyBy, r.signal))) continue;
      const ok = await d.send(s.step, s.plate !== undefined ? { plate: s.plate } : undefined).catch(() => false);
      if (s.step !== 'offline' && s.step !== 'online') r.record(d, s.step, ok);
    }
    await r.wait(start + (round + 1) * r.periodMs - Date.now());
  }
}
