/**
 * Tables of Web Push (issue 17, migration 0011_webpush): the push subscriptions of the phone view
 * installed as a PWA. (The VAPID key pair is a row of hub_keys.)
 */

/** One browser's PushSubscription, owned by one user. The endpoint is the key: a browser has one per origin. */
export interface PushSubscriptionTable {
  endpoint: string;
  user_id: string;
  /** The browser's ECDH P-256 public key (uncompressed point, base64url). */
  p256dh: string;
  /** The 16-byte authentication secret, base64url. */
  auth: string;
  /** The browser's User-Agent when it subscribed (shown so a person can tell their devices apart). */
  user_agent: string | null;
  created_at: number;
  last_success_at: number | null;
}

export interface WebPushSchema {
  push_subscriptions: PushSubscriptionTable;
}
