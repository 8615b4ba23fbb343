import type { EventType } from '../../protocol/index.js';

/**
 * What an access gate is, as data: the events its drivers emit and the commands it will accept.
 * The hub and the docs read this; drivers do not. Commands are listed now and implemented with the
 * command path (remote door control is `PUT /ISAPI/AccessControl/RemoteControl/door/{n}` on ISAPI).
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

export const ACCESS_GATE_COMMANDS = ['door.open', 'door.close', 'door.alwaysOpen', 'door.alwaysClosed'] as const;

export type AccessGateCommand = (typeof ACCESS_GATE_COMMANDS)[number];

export const accessGateProfile = Object.freeze({
  kind: 'access-gate',
  vendor: 'Hikvision (ISAPI)',
  events: ACCESS_GATE_EVENTS,
  commands: ACCESS_GATE_COMMANDS,
} as const);

export type AccessGateProfile = typeof accessGateProfile;
