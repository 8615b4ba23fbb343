import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The hub's Prometheus metrics, on a registry of its own (several hubs can live in one test process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rb_process_' });
  const m = {
    registry,
    received: new Counter({
      name: 'rb_messages_received_total',
      help: 'MQTT messages received from gateways, by topic kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    accepted: new Counter({
      name: 'rb_messages_accepted_total',
      help: 'Event messages accepted and stored',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'rb_messages_rejected_total',
      help: 'Messages refused, by reason (malformed-json, schema, unknown-type, topic-mismatch, too-large, acl, bad-topic, store)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    deduplicated: new Counter({
      name: 'rb_events_deduplicated_total',
      help: 'Event messages whose id was already stored (re-deliveries)',
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'rb_mqtt_auth_failures_total',
      help: 'MQTT connections refused at authentication, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    subscribeDenied: new Counter({
      name: 'rb_mqtt_subscribe_denied_total',
      help: 'Subscriptions refused by the ACL',
      registers: [registry],
    }),
    gatewaysConnected: new Gauge({
      name: 'rb_gateways_connected',
      help: 'Gateways with an open MQTT connection',
      registers: [registry],
    }),
    storeLatency: new Histogram({
      name: 'rb_store_write_seconds',
      help: 'Time from an event message arriving to it being durable in the store',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    /**
     * Ingest stages. `validate`: per message (JSON, schema, topic match). `dedup`, `store`: per ingest
     * batch (the events of one event-loop turn), the dedup window's write and the store write.
     * `queue`: per batch, from its first event's arrival to the batch being written.
     */
    ingestStage: new Histogram({
      name: 'rb_ingest_stage_seconds',
      help: 'Time in each ingest stage: validate (per message), queue, store, dedup (per batch of one event-loop turn)',
      labelNames: ['stage'] as const,
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    ingestAck: new Histogram({
      name: 'rb_ingest_ack_seconds',
      help: 'Time from a PUBLISH reaching the broker\'s authorizePublish to its verdict (the PUBACK follows at once), rate-limit delay included',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ingestBatch: new Histogram({
      name: 'rb_ingest_batch_events',
      help: 'Events per ingest batch (one store write and one dedup transaction each)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers: [registry],
    }),
    pushed: new Counter({
      name: 'rb_push_events_total',
      help: 'Events pushed to Socket.IO rooms',
      registers: [registry],
    }),
    mqttOversize: new Counter({
      name: 'rb_mqtt_oversize_total',
      help: 'MQTT connections closed because a packet claimed more than the size limit, by phase (pre-connack, connected)',
      labelNames: ['phase'] as const,
      registers: [registry],
    }),
    mqttProtocolErrors: new Counter({
      name: 'rb_mqtt_protocol_errors_total',
      help: 'MQTT packets refused by the hub, by reason (malformed-length, empty-client-id, client-id-mismatch, topic-nul, topic-invalid-utf8)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mqttConnectionsRefused: new Counter({
      name: 'rb_mqtt_connections_refused_total',
      help: 'MQTT connections refused before authentication, by reason (max-connections, ip-rate, proxy-protocol, redis)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mqttStaleWills: new Counter({
      name: 'rb_mqtt_stale_wills_total',
      help: 'Last Wills not ingested because the gateway had connected again since (to this node or another)',
      registers: [registry],
    }),
    mqttConnectionsOpen: new Gauge({
      name: 'rb_mqtt_connections_open',
      help: 'Open MQTT connections (TCP and TLS, authenticated or not)',
      registers: [registry],
    }),
    mqttPublishDelayed: new Counter({
      name: 'rb_mqtt_publish_delayed_total',
      help: 'PUBLISH packets held back by the per-gateway rate limit (delayed, not dropped)',
      registers: [registry],
    }),
    mqttRetainStripped: new Counter({
      name: 'rb_mqtt_retain_stripped_total',
      help: 'Gateway PUBLISHes with RETAIN 1 acknowledged but not retained, by topic kind and reason (topic: not a status topic; too-large: over mqttMaxRetainedBytes; dropped: ingest refused the payload; revoked: the gateway was revoked)',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    mqttRetainedMessages: new Gauge({
      name: 'rb_mqtt_retained_messages',
      help: 'Retained messages the broker holds (at most one per gateway: its status)',
      registers: [registry],
    }),
    mqttRetainedBytes: new Gauge({
      name: 'rb_mqtt_retained_bytes',
      help: 'Payload bytes of the retained messages the broker holds',
      registers: [registry],
    }),
    mqttPublishDelaySeconds: new Counter({
      name: 'rb_mqtt_publish_delay_seconds_total',
      help: 'Total time PUBLISH packets were held back by the per-gateway rate limit',
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
