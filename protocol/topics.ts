import { isId } from './ids.js';

/**
 * The only module that builds or splits MQTT topic strings. Layout (version 1):
 *
 *   rb/v1/{estate}/{gateway}/status               gateway status, retained, also the LWT
 *   rb/v1/{estate}/{gateway}/{device}/event       device events, QoS 1, not retained
 *   rb/v1/{estate}/{gateway}/{device}/state       device state, retained
 *   rb/v1/{estate}/{gateway}/{device}/cmd         hub -> gateway commands, QoS 1
 *   rb/v1/{estate}/{gateway}/{device}/cmd/result  gateway -> hub command results, QoS 1
 */
export const TOPIC_ROOT = 'rb';
export const TOPIC_VERSION = 'v1';

export type TopicKind = 'status' | 'event' | 'state' | 'cmd' | 'cmd/result';

export type ParsedTopic =
  | { kind: 'status'; estate: string; gateway: string }
  | { kind: 'event' | 'state' | 'cmd' | 'cmd/result'; estate: string; gateway: string; device: string };

function checkIds(ids: Record<string, string>): void {
  for (const [name, value] of Object.entries(ids)) {
    if (!isId(value)) throw new TypeError(`invalid ${name} id for topic: ${JSON.stringify(value)}`);
  }
}

export const topics = {
  status(estate: string, gateway: string): string {
    checkIds({ estate, gateway });
    return `${TOPIC_ROOT}/${TOPIC_VERSION}/${estate}/${gateway}/status`;
  },
  device(kind: Exclude<TopicKind, 'status'>, estate: string, gateway: string, device: string): string {
    checkIds({ estate, gateway, device });
    return `${TOPIC_ROOT}/${TOPIC_VERSION}/${estate}/${gateway}/${device}/${kind}`;
  },
  event(estate: string, gateway: string, device: string): string {
    return topics.device('event', estate, gateway, device);
  },
  state(estate: string, gateway: string, device: string): string {
    return topics.device('state', estate, gateway, device);
  },
  cmd(estate: string, gateway: string, device: string): string {
    return topics.device('cmd', estate, gateway, device);
  },
  cmdResult(estate: string, gateway: string, device: string): string {
    return topics.device('cmd/result', estate, gateway, device);
  },
  /** Prefix under which one gateway may publish: `rb/v1/{estate}/{gateway}/`. */
  gatewayPrefix(estate: string, gateway: string): string {
    checkIds({ estate, gateway });
    return `${TOPIC_ROOT}/${TOPIC_VERSION}/${estate}/${gateway}/`;
  },
  /** Subscription filter for the commands of every device of one gateway. */
  gatewayCommands(estate: string, gateway: string): string {
    checkIds({ estate, gateway });
    return `${TOPIC_ROOT}/${TOPIC_VERSION}/${estate}/${gateway}/+/cmd`;
  },
} as const;

/**
 * Parse a topic. Returns `null` for anything that is not exactly one of the v1 shapes with valid ids:
 * a topic is input from the network and is never trusted.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  if (typeof topic !== 'string' || topic.length > 512) return null;
  const parts = topic.split('/');
  if (parts[0] !== TOPIC_ROOT || parts[1] !== TOPIC_VERSION) return null;
  const [, , estate, gateway, a, b, c] = parts;
  if (!isId(estate) || !isId(gateway)) return null;
  if (parts.length === 5 && a === 'status') return { kind: 'status', estate, gateway };
  if (!isId(a)) return null;
  if (parts.length === 6 && (b === 'event' || b === 'state' || b === 'cmd')) {
    return { kind: b, estate, gateway, device: a };
  }
  if (parts.length === 7 && b === 'cmd' && c === 'result') {
    return { kind: 'cmd/result', estate, gateway, device: a };
  }
  return null;
}

/**
 * The MQTT client id of a gateway: `rb.{estate}.{gateway}`. Ids cannot contain ".", so no two gateways
 * share a client id (with "-" as the separator, estate "a-b"/gateway "c" and "a"/"b-c" would). The hub
 * accepts a gateway only under its own client id, so nobody can take over another gateway's session.
 */
export function clientIdFor(estate: string, gateway: string): string {
  checkIds({ estate, gateway });
  return `${TOPIC_ROOT}.${estate}.${gateway}`;
}
