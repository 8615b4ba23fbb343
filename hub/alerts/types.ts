/** The alert as the store returns it, the API serves it and push sends it (docs/alerts.md, "Alerts"). */

export type AlertState = 'open' | 'acknowledged' | 'escalated' | 'resolved';

export interface Alert {
  id: string;
  estate: string;
  gateway: string;
  device: string;
  rule: string;
  key: string;
  severity: number;
  state: AlertState;
  count: number;
  openedAt: number;
  lastAt: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  resolution?: string;
  level: number;
  /** Last time anyone was notified of it (escalation bookkeeping). */
  notifiedAt?: number;
  assignee?: string;
  /**
   * When the condition of an alert that waits for a person cleared (the forced door closed), ms, and
   * the event that said so. Removed when the condition comes back (a repeat).
   */
  conditionClearedAt?: number;
  conditionClearedEvent?: string;
  /** Linked event ids, oldest first: the first one and the latest, at most 100 in all. */
  events: string[];
  snapshots: { sha256: string; eventId: string }[];
  data: Record<string, unknown>;
}

export interface Transition {
  at: number;
  actor: string;
  from: AlertState | null;
  to: AlertState;
  note?: string;
}

export interface AlertComment {
  id: number;
  at: number;
  actor: string;
  text: string;
}

/** What happened to an alert besides its transitions and comments (hub/alerts/timeline.ts). */
export type AlertActivity =
  | { kind: 'notified'; at: number; actor: string; level: number; reason: string }
  | { kind: 'repeat'; at: number; count: number; eventId?: string }
  | { kind: 'condition-cleared'; at: number; eventId?: string };

export interface AlertDetail extends Alert {
  transitions: Transition[];
  comments: AlertComment[];
  /** Notifications, the last 20 repeats and condition-cleared stamps, oldest first. */
  activity: AlertActivity[];
}

/** The result of a transition: the alert as it is now, and whether this call changed it. */
export interface Change {
  alert: Alert;
  changed: boolean;
}

export interface AlertQuery {
  /** The caller's estates (its scope); an empty list finds nothing. */
  estates: readonly string[];
  state?: AlertState | readonly AlertState[];
  severity?: number | readonly number[];
  rule?: string | readonly string[];
  /** Page size, 1..500 (default 50). */
  limit?: number;
  /** Cursor: the `next` of the previous page (an alert id). */
  before?: string;
  /** `opened` (default): newest first; `severity`: severity descending, then oldest first. */
  sort?: 'opened' | 'severity';
}

/** Resolved alerts by resolution time (the history screens). */
export interface HistoryQuery {
  estates: readonly string[];
  rule?: readonly string[] | undefined;
  /** resolvedAt in [from, to), ms. */
  from: number;
  to: number;
  /** 1..500 (default 500). */
  limit?: number;
  /** Cursor: the `next` of the previous page (an alert id). */
  before?: string | undefined;
}

/** What escalation() needs of an unacknowledged alert. */
export interface EscalationCandidate {
  id: string;
  estate: string;
  severity: number;
  state: 'open' | 'escalated';
  level: number;
  openedAt: number;
  notifiedAt: number | null;
}
