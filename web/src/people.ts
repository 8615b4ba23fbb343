/**
 * The roster answers (`/roster/on-duty`, `/roster/handover`) are read tolerantly: the contract names
 * what they hold (who is on duty, next, open alerts) but not every field, so a person is whatever
 * carries a name, and a list is an array or `{items}`.
 */
import { t } from './i18n/index.js';
import type { Alert } from './types.js';

export interface Person {
  id?: string;
  name: string;
  until?: number | string;
  from?: number | string;
}

function toPerson(v: unknown): Person | null {
  if (typeof v === 'string') return { name: v };
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const user = o.user && typeof o.user === 'object' ? (o.user as Record<string, unknown>) : undefined;
  const name = o.displayName ?? o.name ?? user?.displayName ?? user?.name ?? o.userName ?? (typeof o.user === 'string' ? o.user : undefined) ?? o.id;
  if (typeof name !== 'string') return null;
  const id = o.id ?? user?.id ?? (typeof o.user === 'string' ? o.user : undefined);
  const p: Person = { name };
  if (typeof id === 'string') p.id = id;
  const until = o.until ?? o.end ?? o.to;
  const from = o.from ?? o.start;
  if (typeof until === 'number' || typeof until === 'string') p.until = until;
  if (typeof from === 'number' || typeof from === 'string') p.from = from;
  return p;
}

export function toPeople(raw: unknown): Person[] {
  const list = Array.isArray(raw)
    ? raw
    : raw && typeof raw === 'object'
      ? ((raw as Record<string, unknown>).items ?? (raw as Record<string, unknown>).onDuty ?? (raw as Record<string, unknown>).users ?? (raw as Record<string, unknown>).people)
      : undefined;
  return Array.isArray(list) ? list.map(toPerson).filter((p): p is Person => p !== null) : [];
}

export interface Handover {
  now: Person[];
  next: Person[];
  alerts: Alert[];
}

export function toHandover(raw: unknown): Handover {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const alerts = o.alerts ?? o.open ?? o.items;
  return {
    now: toPeople(o.onDuty ?? o.now ?? []),
    next: toPeople(o.next ?? o.nextOnDuty ?? []),
    alerts: Array.isArray(alerts) ? (alerts as Alert[]) : [],
  };
}

/**
 * `user:<id>` → a name: "me" for the viewer, the person's name when a roster told us, otherwise the
 * end of the id (ULIDs are long; the tail is enough to tell people apart on a screen).
 */
export function actorName(actor: string | undefined, people: Person[], me?: { id: string }, name?: string): string {
  if (!actor) return '';
  if (actor === 'system') return t('tl.system');
  if (!actor.startsWith('user:')) return actor;
  const id = actor.slice(5);
  if (me && me.id === id) return t('actor.me');
  // The hub names the person on the alert (reduced for volunteers and patrols); else the roster's name.
  return name ?? people.find((p) => p.id === id)?.name ?? `#${id.slice(-6)}`;
}
