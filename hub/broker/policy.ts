import { clientIdFor } from '../../protocol/index.js';
import type { GatewayIdentity } from '../registry.js';

/**
 * Why a topic name or filter from the wire must close the connection, or null.
 *
 * mqtt-packet decodes strings with Buffer#toString('utf8'), which replaces ill-formed UTF-8, and the
 * UTF-16 surrogates U+D800..U+DFFF encoded in it, by U+FFFD instead of failing; U+0000 it keeps.
 * Both must close the connection ([MQTT-1.5.3-1], [MQTT-1.5.3-2]). Every Red Butler topic is ASCII
 * (`rb/v1/...`, ids `[a-z0-9-]`), so a U+FFFD here can only come from invalid UTF-8 on the wire or
 * from a topic the ACL would refuse anyway; both are counted as invalid UTF-8.
 */
export function topicProblem(topic: string): 'topic-nul' | 'topic-invalid-utf8' | null {
  if (topic.includes('\u0000')) return 'topic-nul';
  if (topic.includes('\uFFFD')) return 'topic-invalid-utf8';
  return null;
}

/**
 * The MQTT client id a gateway must use (gateway/uplink.ts builds the same). Binding it to the
 * identity stops one gateway from taking over another's session: aedes hands a persistent session,
 * with its queued commands, to whoever connects with its client id ([MQTT-3.1.2-4], [MQTT-3.1.4-2]).
 */
export function gatewayClientId(who: GatewayIdentity): string {
  return clientIdFor(who.estate, who.gateway);
}

/** Identity key of a gateway in maps. */
export function gatewayKey(who: GatewayIdentity): string {
  return `${who.estate}/${who.gateway}`;
}
