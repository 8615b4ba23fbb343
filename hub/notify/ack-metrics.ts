import { Counter, type Registry } from 'prom-client';

/** Metrics of acknowledging from outside the app (links, SMS replies), on the hub's registry. */
export interface AckMetrics {
  /** Ack link requests refused: forged, expired, wrong-purpose, unknown-alert, unknown-user, out-of-scope, rate-limited. */
  linkRefused: Counter<'reason'>;
  /** SMS replies refused: unknown-number, unknown-text, nothing-to-ack, unknown-user, out-of-scope, unknown-alert, failed. */
  replyRefused: Counter<'reason'>;
  /** Acknowledges from outside the app, by way (link, sms) and result (acknowledged, already, resolved). */
  remoteAcks: Counter<'via' | 'result'>;
}

/** Each counter once per registry (a second call on the same registry returns the same ones). */
const made = new WeakMap<Registry, AckMetrics>();

export function ackMetrics(registry: Registry): AckMetrics {
  let m = made.get(registry);
  if (!m) {
    m = {
      linkRefused: new Counter({ name: 'rb_notify_ack_link_refused_total', help: 'One-tap acknowledge link requests refused, by reason', labelNames: ['reason'] as const, registers: [registry] }),
      replyRefused: new Counter({ name: 'rb_notify_reply_refused_total', help: 'SMS replies that acknowledged nothing, by reason', labelNames: ['reason'] as const, registers: [registry] }),
      remoteAcks: new Counter({ name: 'rb_notify_remote_acks_total', help: 'Acknowledges from outside the app (ack link, SMS reply), by way and result', labelNames: ['via', 'result'] as const, registers: [registry] }),
    };
    made.set(registry, m);
  }
  return m;
}
