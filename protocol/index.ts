export * from './ids.js';
export * from './topics.js';
export * from './events.js';
export * from './device-events.js';
export * from './hub-events.js';
export * from './status.js';
export * from './commands.js';
export * from './edge.js';

/** MQTT delivery settings per message kind; docs/protocol.md describes the same table. */
export const DELIVERY = {
  event: { qos: 1, retain: false },
  status: { qos: 1, retain: true },
  state: { qos: 1, retain: false },
  cmd: { qos: 1, retain: false },
  'cmd/result': { qos: 1, retain: false },
} as const;

/** Largest event payload the hub accepts unless configured otherwise (hub.maxPayloadBytes). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
