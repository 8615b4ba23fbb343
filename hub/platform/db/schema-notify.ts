import type { NotificationState } from '../../notify/types.js';

/**
 * The notification outbox (migration `0009_notify_outbox`, hub/notify/outbox.ts): one row per
 * message to one person (or one estate's group robot) through one channel at one escalation level.
 * `recipient` is `user:<id>` or `group`: the UNIQUE key (alert_id, level, recipient, channel_id)
 * needs a column that is never NULL (NULLs never collide in a UNIQUE index, on either engine).
 */
export interface NotificationsTable {
  id: string;
  alert_id: string;
  estate: string;
  level: number;
  severity: number;
  user_id: string | null;
  recipient: string;
  channel_id: string;
  channel_type: string;
  /** JSON of the Address; NULL for a row the gateway sent at the edge. */
  address: string | null;
  lang: string;
  state: NotificationState;
  attempts: number;
  /** When a `queued` row is due (first send, or its next retry). */
  next_at: number;
  queued_at: number;
  sent_at: number | null;
  delivered_at: number | null;
  provider_id: string | null;
  error_code: string | null;
  error_message: string | null;
  /** 1: sent by the gateway's own modem while the hub was unreachable (reported afterwards). */
  at_edge: number;
  /** 1: a fallback route, queued after the person's other routes failed. */
  fallback: number;
}

export interface NotifySchema {
  notifications: NotificationsTable;
}
