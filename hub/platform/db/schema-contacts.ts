/**
 * Contact points and notification policy (hub/notify/contacts.ts, issue 17): how each person is
 * reached besides an open page, and each estate's or grid's group robots. Web Push subscriptions
 * are kept in their own table by the Web Push part and joined in at wiring time.
 */
export interface ContactPointTable {
  id: string;
  user_id: string;
  /** A configured channel instance (`notify.channels[].id`). */
  channel: string;
  /** `phone` (SMS, voice, GSM modem) or `wecom-user` (WeCom application message). */
  kind: 'phone' | 'wecom-user';
  /** Normalised: a phone as E.164 (`+8613812345678`), a WeCom user id as given. */
  address: string;
  /** Lowest alert severity (1–4) sent this way. */
  min_severity: number;
  /** 1: queued only when the person's other routes failed (e.g. a voice call). */
  fallback: number;
  /** Order among the person's contact points (ascending). */
  position: number;
  created_at: number;
}

export interface ContactPolicyTable {
  user_id: string;
  /** Quiet hours, local "HH:MM" in the hub's time zone; both null = none. */
  quiet_from: string | null;
  quiet_to: string | null;
  lang: 'zh-CN' | 'en';
  updated_at: number;
}

export interface GroupRobotTable {
  id: string;
  /** `estate:<id>` or `grid:<id>`. */
  scope: string;
  channel: string;
  min_severity: number;
  position: number;
  created_at: number;
}

export interface ContactsSchema {
  contact_points: ContactPointTable;
  contact_policies: ContactPolicyTable;
  group_robots: GroupRobotTable;
}
