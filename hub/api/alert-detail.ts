import type { Logger } from 'pino';
import type { AlertDetail as AlertDetailView } from '../../protocol/api.js';
import { decodeTime } from 'ulid';
import type { RbEvent } from '../../protocol/index.js';
import { alertView, type NameOf } from '../alerts/service.js';
import { buildTimeline } from '../alerts/timeline.js';
import type { AlertDetail } from '../alerts/types.js';
import type { EventStore } from '../store/types.js';
import type { NotificationView } from '../notify/types.js';

/**
 * `GET /api/v1/alerts/:id` (docs/alerts.md, "Alert detail"): the alert view with its timeline and the
 * linked events themselves, read back from the event store. Masking and the audit of full views stay
 * with the caller (hub/api/personal.ts), as for every other read.
 */

/** Linked events fetched per detail: the first (the trigger) and the latest; the rest are ids in `events`. */
export const MAX_LINKED_EVENTS = 50;
/** Events whose ids are this close in time are read with one query. */
const CLUSTER_MS = 10 * 60_000;
/** Slack around an event's time: its ULID carries the device time, to the millisecond, as the gateway stamped it. */
const SLACK_MS = 60_000;
const PAGE = 1000;

export type LinkedEvent = RbEvent & { deviceName?: string };

/**
 * The events with these ids of one device, oldest first. Event ids are ULIDs whose time part is the
 * event's device time (gateway/event-id.ts), so each is found by a narrow time query on its device;
 * ids close in time share one query. An id the store no longer has (retention) is left out.
 */
export async function readLinkedEvents(store: Pick<EventStore, 'query'>, estate: string, device: string, ids: readonly string[]): Promise<RbEvent[]> {
  const wanted = new Map<string, number>();
  for (const id of ids) {
    try {
      wanted.set(id, decodeTime(id));
    } catch {
      // not a ULID: nothing to look for
    }
  }
  const found = new Map<string, RbEvent>();
  const times = [...wanted.values()].sort((a, b) => a - b);
  const windows: Array<{ from: number; to: number }> = [];
  for (const t of times) {
    const w = windows[windows.length - 1];
    if (w && t - w.from <= CLUSTER_MS) w.to = t;
    else windows.push({ from: t, to: t });
  }
  const take = (events: RbEvent[]): void => {
    for (const e of events) if (wanted.has(e.id)) found.set(e.id, e);
  };
  const pages = await Promise.all(windows.map((w) => store.query({ estate, device, from: w.from - SLACK_MS, to: w.to + SLACK_MS + 1, limit: PAGE })));
  pages.forEach(take);
  // A busy device filled a page: look for what is still missing one by one, within a second.
  if (pages.some((p) => p.length >= PAGE)) {
    const missing = [...wanted].filter(([id]) => !found.has(id));
    const more = await Promise.all(missing.map(([, t]) => store.query({ estate, device, from: t - 1000, to: t + 1001, limit: PAGE })));
    more.forEach(take);
  }
  return [...found.values()].sort((a, b) => a.ts - b.ts || a.seq - b.seq);
}

/** The ids whose events a detail shows: the trigger, the latest linked ones, and those that cleared the condition. */
export function linkedIds(detail: Pick<AlertDetail, 'events' | 'activity'>): string[] {
  const cleared = detail.activity.flatMap((a) => (a.kind === 'condition-cleared' && a.eventId ? [a.eventId] : []));
  const all = [...new Set([...detail.events, ...cleared])];
  return all.length <= MAX_LINKED_EVENTS ? all : [all[0]!, ...all.slice(-(MAX_LINKED_EVENTS - 1))];
}

/** The whole detail view; a store that cannot answer leaves `linkedEvents` empty and says so, never fails the read. */
export async function alertDetailView(
  detail: AlertDetail,
  deps: { events: Pick<EventStore, 'query'>; nameOf?: NameOf | undefined; log?: Logger; notifications?: ((alertId: string) => Promise<NotificationView[]>) | undefined },
) {
  const { activity: _activity, ...alert } = detail;
  const { timeline, repeatsOmitted } = buildTimeline(detail, deps.nameOf);
  let linkedEvents: LinkedEvent[] = [];
  let linkedEventsError: string | undefined;
  try {
    const events = await readLinkedEvents(deps.events, detail.estate, detail.device, linkedIds(detail));
    linkedEvents = events.map((e) => {
      const deviceName = deps.nameOf?.device?.(e.estate, e.device);
      return deviceName ? { ...e, deviceName } : e;
    });
  } catch (err) {
    deps.log?.warn({ err, alert: detail.id }, 'linked events unavailable');
    linkedEventsError = 'RB_ERR_STORE_UNAVAILABLE';
  }
  const notifications = deps.notifications ? await deps.notifications(detail.id) : undefined;
  const view = {
    ...alertView(alert, deps.nameOf),
    timeline,
    repeatsOmitted,
    linkedEvents,
    ...(notifications ? { notifications } : {}),
    ...(linkedEventsError ? { linkedEventsError } : {}),
  };
  // What the screens read (protocol/api.ts AlertDetail); extra fields are fine.
  return view satisfies AlertDetailView;
}
