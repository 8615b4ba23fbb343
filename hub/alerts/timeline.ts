import type { AlertDetail } from './types.js';

/**
 * An alert's timeline for the detail screens (docs/alerts.md, "Alert detail"): one list, sorted by
 * time, built from what the store keeps — transitions (raised, acknowledged, escalated, resolved,
 * assigned), comments and activity (notified, repeat, condition-cleared). Pure: names come from the
 * caller (`nameOf`), masking from hub/alerts/privacy.ts (`actorName` is a person's name, and so is the
 * `text` of an `assigned` entry).
 */

export type TimelineKind = 'raised' | 'repeat' | 'notified' | 'acknowledged' | 'escalated' | 'assigned' | 'comment' | 'condition-cleared' | 'resolved';

export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  /** `system` or `user:<id>`. */
  actor?: string;
  actorName?: string;
  /** Escalation level (notified, escalated). */
  level?: number;
  /** Why a notification went out: new, escalated, renotify. */
  reason?: string;
  /** Acknowledgement or resolution note. */
  note?: string;
  /** Comment text; for `assigned`, the assignee's name (absent when unassigned). */
  text?: string;
  /** For `assigned`: `user:<id>`, or null when unassigned. */
  assignee?: string | null;
  eventId?: string;
  /** For `repeat`: the alert's count after it. */
  count?: number;
}

export interface Timeline {
  timeline: TimelineEntry[];
  /** Repeats the timeline leaves out (the store keeps the latest 20; `count` says how many there were). */
  repeatsOmitted: number;
}

/** When several things share one millisecond, this is the order they happened in. */
const RANK: Record<TimelineKind, number> = {
  raised: 0, repeat: 1, 'condition-cleared': 2, escalated: 3, notified: 4, acknowledged: 5, assigned: 6, comment: 7, resolved: 8,
};

const LEVEL_NOTE = /^level (\d)$/;
const ASSIGN_NOTE = /^assigned (user:\S+|nobody)$/;
const CLEARED_NOTE = /^cleared by event (\S+)$/;

export function buildTimeline(detail: AlertDetail, nameOf?: (actor: string) => string | undefined): Timeline {
  const out: TimelineEntry[] = [];
  const who = (actor: string): Pick<TimelineEntry, 'actor' | 'actorName'> => {
    const name = actor.startsWith('user:') ? nameOf?.(actor) : undefined;
    return name ? { actor, actorName: name } : { actor };
  };
  for (const t of detail.transitions) {
    // The store writes these notes itself (hub/alerts/store.ts), so their shape is known.
    const assign = t.note !== undefined && t.from === t.to ? ASSIGN_NOTE.exec(t.note) : null;
    if (t.from === null) {
      out.push({ at: t.at, kind: 'raised', ...who(t.actor), ...(detail.events[0] ? { eventId: detail.events[0] } : {}) });
    } else if (assign) {
      const assignee = assign[1] === 'nobody' ? null : assign[1]!;
      const name = assignee ? (nameOf?.(assignee) ?? assignee.slice(5)) : undefined;
      out.push({ at: t.at, kind: 'assigned', ...who(t.actor), assignee, ...(name ? { text: name } : {}) });
    } else if (t.to === 'escalated') {
      const level = LEVEL_NOTE.exec(t.note ?? '');
      out.push({ at: t.at, kind: 'escalated', actor: t.actor, ...(level ? { level: Number(level[1]) } : {}) });
    } else if (t.to === 'acknowledged' && t.from !== 'acknowledged') {
      out.push({ at: t.at, kind: 'acknowledged', ...who(t.actor), ...(t.note ? { note: t.note } : {}) });
    } else if (t.to === 'resolved' && t.from !== 'resolved') {
      const cleared = t.actor === 'system' ? CLEARED_NOTE.exec(t.note ?? '') : null;
      out.push({ at: t.at, kind: 'resolved', ...who(t.actor), ...(t.note ? { note: t.note } : {}), ...(cleared ? { eventId: cleared[1]! } : {}) });
    }
  }
  for (const a of detail.activity) {
    if (a.kind === 'notified') out.push({ at: a.at, kind: 'notified', ...who(a.actor), level: a.level, reason: a.reason });
    else if (a.kind === 'repeat') out.push({ at: a.at, kind: 'repeat', count: a.count, ...(a.eventId ? { eventId: a.eventId } : {}) });
    else out.push({ at: a.at, kind: 'condition-cleared', ...(a.eventId ? { eventId: a.eventId } : {}) });
  }
  for (const c of detail.comments) out.push({ at: c.at, kind: 'comment', ...who(c.actor), text: c.text });
  // Array.prototype.sort is stable: equal entries keep the order above.
  out.sort((x, y) => x.at - y.at || RANK[x.kind] - RANK[y.kind]);
  const shown = detail.activity.filter((a) => a.kind === 'repeat').length;
  return { timeline: out, repeatsOmitted: Math.max(0, detail.count - 1 - shown) };
}
