import { api } from './api.js';
import type { Alert, Page } from './types.js';

export const isOpen = (a: Alert): boolean => a.state !== 'resolved';
export const newestFirst = (a: Alert, b: Alert): number => b.openedAt - a.openedAt || (a.id < b.id ? 1 : -1);

/** Insert or replace by id (pushes arrive in order per estate, so the later one wins). */
export function upsert(list: Alert[], alert: Alert): Alert[] {
  const i = list.findIndex((a) => a.id === alert.id);
  if (i < 0) return [alert, ...list];
  const next = list.slice();
  next[i] = alert;
  return next;
}

const UNRESOLVED = ['open', 'escalated', 'acknowledged'] as const;

/** Every unresolved alert of the estate (or of the user's scope), newest first. */
export async function loadUnresolved(estate?: string): Promise<Alert[]> {
  const pages = await Promise.all(
    UNRESOLVED.map((state) => api<Page<Alert>>(`/api/v1/alerts?${new URLSearchParams({ ...(estate ? { estate } : {}), state, limit: '100' }).toString()}`)),
  );
  const byId = new Map<string, Alert>();
  for (const p of pages) for (const a of p.items) byId.set(a.id, a);
  return [...byId.values()].sort(newestFirst);
}

export async function loadRecentlyResolved(estate: string, limit = 5): Promise<Alert[]> {
  const page = await api<Page<Alert>>(`/api/v1/alerts?${new URLSearchParams({ estate, state: 'resolved', limit: String(limit) }).toString()}`);
  return page.items;
}

export interface SnapshotLink {
  eventId: string;
  sha256: string;
}

/** A `snapshot` push: attach it to the alerts that link its event (it may come after the alert). */
export function addSnapshot(list: Alert[], link: SnapshotLink): Alert[] {
  let changed = false;
  const next = list.map((a) => {
    if (!a.events?.includes(link.eventId) || a.snapshots?.some((s) => s.sha256 === link.sha256)) return a;
    changed = true;
    return { ...a, snapshots: [...(a.snapshots ?? []), { sha256: link.sha256, eventId: link.eventId, url: `/api/v1/snapshots/${link.sha256}` }] };
  });
  return changed ? next : list;
}
