import type { AlertNotification } from '../../protocol/api.js';
import type { Address, Lang } from './channel.js';

/**
 * The seams between the parts of notification (issue 17): the contact book (who can be reached how),
 * the ack links (one-tap, signed) and the outbox (what was sent, retried, delivered). Each part
 * implements its side; the hub's composition root wires them.
 */

/** One way to reach one person (or an estate's group chat) through one configured channel. */
export interface ContactRoute {
  /** A configured channel instance (`notify.channels[].id`). */
  channelId: string;
  address: Address;
  lang: Lang;
  /**
   * false: sent at once with the person's other routes. true: a fallback, queued only when every
   * non-fallback route of this person for this alert and level has failed (e.g. a voice call).
   */
  fallback: boolean;
}

export interface ContactBook {
  /**
   * Where to reach a person for an alert of `severity` at `at`, in the person's order: their
   * severity filters and quiet hours applied (a severity >= 3 alert ignores personal quiet hours).
   * Empty when the person has no contact points (then only the open page reaches them).
   */
  routesFor(userId: string, severity: number, at: number): ContactRoute[];
  /** Group robots configured for an estate (and the grid it is in) that take this severity. */
  groupRoutes(estate: string, severity: number): ContactRoute[];
  /** The enabled user whose contact phone this is (SMS replies); numbers compare as digits, +86 optional. */
  userByPhone(phone: string): string | undefined;
}

export interface AckLinks {
  /** A signed, short-lived link that acknowledges one alert as one person, no login: `{publicUrl}/a/{token}`. */
  url(alertId: string, userId: string, channelId: string): Promise<string>;
}

/**
 * One notification as the alert view shows it: who was told, how, when, and whether it arrived. The
 * screens' contract (protocol/api.ts `AlertNotification`); the address is masked.
 */
export type NotificationView = AlertNotification;
/** The states of one notification row (docs/notifications.md). */
export type NotificationState = AlertNotification['state'];
