import type { CommandName, EventType } from '../../protocol/index.js';
import type { DeviceProfile } from '../types.js';

/**
 * What a vehicle barrier gate with plate recognition is, as data: the events its drivers emit and the
 * commands it accepts. On Hikvision entrance/exit ANPR cameras the barrier is driven by the camera
 * (`PUT /ISAPI/Parking/channels/{lane}/barrierGate`) and the allow/block lists live on the camera
 * (`/ISAPI/Traffic/channels/1/licensePlateAuditData`); see anpr-commands.ts for the sources.
 */
export const BARRIER_GATE_EVENTS = [
  'vehicle.entered',
  'vehicle.exited',
  'vehicle.denied',
  'barrier.opened',
  'barrier.closed',
  'barrier.fault',
] as const satisfies readonly EventType[];

export const BARRIER_GATE_COMMANDS = ['barrier.open', 'barrier.close', 'plates.set'] as const satisfies readonly CommandName[];

export type BarrierGateCommand = (typeof BARRIER_GATE_COMMANDS)[number];

export const barrierGateProfile = Object.freeze({
  kind: 'barrier-gate',
  vendor: 'Hikvision (ISAPI ANPR)',
  events: BARRIER_GATE_EVENTS,
  commands: BARRIER_GATE_COMMANDS,
} as const satisfies DeviceProfile);

export type BarrierGateProfile = typeof barrierGateProfile;
