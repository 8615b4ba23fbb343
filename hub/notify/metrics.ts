import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The outbox's Prometheus metrics (docs/notifications.md, "Metrics"), on the hub's registry. */
export function createNotifyMetrics(registry: Registry, depth: () => Promise<number>) {
  return {
    sent: new Counter({
      name: 'rb_notify_sent_total',
      help: 'Notifications a provider accepted, by channel type and state (sent, delivered)',
      labelNames: ['channel_type', 'state'] as const,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'rb_notify_failed_total',
      help: 'Failed sends by channel type and error code; `final` is "true" when the row failed for good, "false" when it will be retried',
      labelNames: ['channel_type', 'code', 'final'] as const,
      registers: [registry],
    }),
    skipped: new Counter({
      name: 'rb_notify_skipped_total',
      help: 'Notifications not sent, by reason code (acknowledged meanwhile, told at the edge, no such channel)',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    escalatedNow: new Counter({
      name: 'rb_notify_escalated_total',
      help: 'Alerts escalated at once because every notification of their level failed',
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'rb_notify_send_seconds',
      help: 'Time one provider call took, by channel type',
      labelNames: ['channel_type'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDelay: new Histogram({
      name: 'rb_notify_queue_seconds',
      help: 'Time from a notification being queued to its provider accepting it (retries included)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    depth: new Gauge({
      name: 'rb_notify_queue_depth',
      help: 'Notifications queued or being sent',
      registers: [registry],
      async collect() {
        // A database that cannot answer leaves the last value, never fails the scrape.
        this.set(await depth().catch(() => Number.NaN));
      },
    }),
  };
}

export type NotifyMetrics = ReturnType<typeof createNotifyMetrics>;
