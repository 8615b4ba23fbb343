import type { CommandName, EventType } from '../../protocol/index.js';
import type { DeviceProfile } from '../types.js';

/**
 * What an access gate is, as data: the events its drivers emit and the commands it will accept.
 * The gateway checks commands against `commands` before handing them to a driver; the hub and the
 * docs read it too. On ISAPI the commands are `PUT /ISAPI/AccessControl/RemoteControl/door/{n}`
 * (see isapi-commands.ts).
 */
export const ACCESS_GATE_EVENTS = [
  'access.granted',
  'access.denied',
  'door.opened',
  'door.closed',
  'door.forced',
  'door.held',
  'device.tamper',
] as const satisfies readonly EventType[];

export const ACCESS_GATE_COMMANDS = [
  'door.open',
  'door.close',
  'door.alwaysOpen',
  'door.alwaysClosed',
] as const satisfies readonly CommandName[];

export type AccessGateCommand = (typeof ACCESS_GATE_COMMANDS)[number];

export const accessGateProfile = Object.freeze({
  kind: 'access-gate',
  vendor: 'Hikvision (ISAPI)',
  events: ACCESS_GATE_EVENTS,
  commands: ACCESS_GATE_COMMANDS,
} as const satisfies DeviceProfile);

export type AccessGateProfile = typeof accessGateProfile;
