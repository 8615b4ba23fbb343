import type { Logger } from 'pino';
import { parseTopic, type ParsedTopic } from '../../protocol/index.js';
import type { Metrics } from '../metrics.js';

/**
 * Retained messages at the hub's broker.
 *
 * Observed (issue 14): aedes keeps every PUBLISH with RETAIN 1 in its in-memory persistence, one per
 * topic, for ever. A gateway sending 200 retained 1 MiB PUBLISHes on distinct device topics raised
 * the hub's RSS by 210 MiB, never released, including payloads ingest had refused; nobody could read
 * them back (the ACL lets a gateway subscribe only to its own `cmd` topics).
 *
 * Policy: the broker retains exactly one topic per gateway, its own `rb/v1/{estate}/{gateway}/status`
 * (protocol/topics.ts: the status and its Last Will are retained), and only a status ingest accepted
 * and no larger than `mqttMaxRetainedBytes`. So it holds at most one message per gateway, at most
 * `mqttMaxRetainedBytes` each. A RETAIN 1 anywhere else is *stripped*: the PUBLISH is acknowledged
 * and ingested as usual, it is not retained, and `rb_mqtt_retain_stripped_total{kind,reason}` counts it.
 *
 * Why strip rather than refuse: MQTT 3.1.1 has no way to refuse only the retain part. [MQTT-3.3.1-5]
 * says a Server stores a retained message; a PUBLISH the Server does not authorize it must either
 * acknowledge positively according to the QoS rules, or answer by closing the connection
 * [MQTT-3.3.5-2]. Closing would punish a gateway whose MQTT library sets RETAIN by mistake (or one
 * that follows the `state` row of docs/protocol.md): its uplink re-sends the same PUBLISH from the
 * outbox after every reconnect, so one such event would block its outbox for good. Acknowledging
 * without storing loses nothing anyone could observe, since no client may subscribe to those topics
 * ([MQTT-3.3.1-6] delivers retained messages only to new subscriptions). MQTT 5.0 would let the hub say
 * so (CONNACK Retain Available 0, DISCONNECT 0x9A, §3.2.2.3.5); 3.1.1 does not.
 */
export type NotRetained = 'topic' | 'too-large' | 'dropped' | 'revoked';

/** Why a PUBLISH with RETAIN 1 on `topic` of `bytes` is not retained before ingest sees it, or null. */
export function retainProblem(topic: ParsedTopic | null, bytes: number, maxBytes: number): 'topic' | 'too-large' | null {
  if (topic?.kind !== 'status') return 'topic';
  return bytes > maxBytes ? 'too-large' : null;
}

/** The part of an aedes persistence this module uses. */
interface RetainedStore {
  storeRetained(packet: { topic: string; payload: Buffer }): Promise<void>;
}

/**
 * Wrap the aedes persistence's `storeRetained`, the one door every retained message passes (a gateway's
 * PUBLISH, its Last Will, the hub's own publishes, a clear), to keep `rb_mqtt_retained_messages` and
 * `rb_mqtt_retained_bytes` equal to what aedes holds. It also refuses, as a last line, whatever the
 * policy above would not retain, should a path ever bypass the broker's authorizePublish (aedes's
 * periodic sweep of wills publishes them with no client, for one).
 */
export function watchRetained(persistence: unknown, deps: { maxBytes: number; metrics: Metrics; log: Logger }): void {
  const { maxBytes, metrics, log } = deps;
  const store = persistence as RetainedStore;
  const storeRetained = store.storeRetained.bind(store);
  /** topic -> payload bytes, as aedes holds them */
  const held = new Map<string, number>();
  let bytes = 0;
  store.storeRetained = async (packet) => {
    const size = packet.payload.length;
    // [MQTT-3.3.1-10], [MQTT-3.3.1-11]: a zero-byte payload removes the topic's retained message.
    if (size > 0) {
      const topic = parseTopic(packet.topic);
      const problem = retainProblem(topic, size, maxBytes);
      if (problem) {
        metrics.mqttRetainStripped.inc({ kind: topic?.kind ?? 'other', reason: problem });
        log.error({ topic: packet.topic.slice(0, 200), bytes: size, reason: problem }, 'retained message reached the store past the broker policy; not kept');
        return;
      }
    }
    await storeRetained(packet);
    bytes -= held.get(packet.topic) ?? 0;
    if (size === 0) held.delete(packet.topic);
    else held.set(packet.topic, size);
    bytes += size;
    metrics.mqttRetainedMessages.set(held.size);
    metrics.mqttRetainedBytes.set(bytes);
  };
}
