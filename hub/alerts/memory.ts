import type { OrderMark } from '../../protocol/order.js';
import type { RuleName } from './settings.js';

/**
 * The rule engine's memory: a plain, JSON-serialisable object (the caller may persist it), one entry
 * per estate. Every record is capped (MEMORY_LIMITS); at a cap the oldest inserted entry is dropped.
 * Times are hub time (ms) except `denied`, which holds device times (see rules.ts).
 */
export interface RuleMemory {
  v: 1;
  estates: Record<string, EstateMemory>;
}

/** A timer: act at `due` unless `raised` already. */
interface Timer {
  gateway: string;
  device: string;
  due: number;
  raised: boolean;
}

export interface DoorTimer extends Timer {
  door: number;
  openedAt: number;
  eventId?: string;
}

export interface VisitorTimer extends Timer {
  plate: string;
  lane?: number;
  enteredAt: number;
  eventId: string;
}

export interface OfflineTimer extends Timer {
  rule: 'camera.offline' | 'gateway.offline';
  since: number;
}

/** An alert this engine raised and has not cleared yet; `clearAt` while the auto-resolve waits out `clearAfterS`. */
export interface ActiveAlert {
  rule: RuleName;
  gateway: string;
  device: string;
  key: string;
  at: number;
  clearAt?: number;
  clearEventId?: string;
}

export interface EstateMemory {
  /** Doors seen open, keyed `{device}/{door}`. */
  doors: Record<string, DoorTimer>;
  /** Device times of the latest access.denied per device (at most the burst count). */
  denied: Record<string, number[]>;
  /** Visitor vehicles in, keyed `p:{plate}`. */
  visitors: Record<string, VisitorTimer>;
  /** Offline timers, keyed `{rule}|{device}`. */
  offline: Record<string, OfflineTimer>;
  /** Devices known to be cameras (from their camera.* events), for device inputs without a kind. */
  cameras: Record<string, number>;
  /** Keyed `{rule}|{device}|{key}`. */
  active: Record<string, ActiveAlert>;
  /**
   * The gateway order of the last door event applied per door, keyed `{device}/{door}`: an older one
   * (the routine lane overtaken by the alarm lane) never clears or restarts what a newer one set.
   * `closed`: that event was a door.closed (an older alarm arriving late is stamped at once).
   */
  order: Record<string, OrderMark & { closed: boolean }>;
  /** Earliest due timer or pending clear of this estate, or null. */
  wakeAt: number | null;
}

/** Caps per estate. */
export const MEMORY_LIMITS = {
  doors: 1_000,
  denied: 1_000,
  visitors: 2_000,
  offline: 1_000,
  cameras: 2_000,
  active: 2_000,
  /**
   * As many doors as `doors` holds (it is copied on each door event, as `doors` is). At the cap the
   * oldest door's mark goes: its next late event is judged by arrival, as without marks.
   */
  order: 1_000,
} as const;

/** An empty memory. */
export function createRuleMemory(): RuleMemory {
  return { v: 1, estates: {} };
}

export function emptyEstate(): EstateMemory {
  return { doors: {}, denied: {}, visitors: {}, offline: {}, cameras: {}, active: {}, order: {}, wakeAt: null };
}

/** Insert or replace; a new key at the cap drops the oldest inserted keys first. */
export function put<T>(rec: Record<string, T>, key: string, value: T, cap: number): void {
  if (!Object.hasOwn(rec, key)) {
    const keys = Object.keys(rec);
    for (let i = 0; keys.length - i >= cap; i++) delete rec[keys[i]!];
  }
  rec[key] = value;
}

export const activeId = (rule: string, device: string, key: string): string => `${rule}|${device}|${key}`;

/** Earliest instant anything in this estate needs a tick. */
export function estateWake(m: EstateMemory): number | null {
  let at = Infinity;
  for (const rec of [m.doors, m.visitors, m.offline] as Record<string, Timer>[]) {
    for (const t of Object.values(rec)) if (!t.raised && t.due < at) at = t.due;
  }
  for (const a of Object.values(m.active)) if (a.clearAt !== undefined && a.clearAt < at) at = a.clearAt;
  return at === Infinity ? null : at;
}

/** Earliest wake over all estates. */
export function memoryWake(memory: RuleMemory): number | null {
  let at: number | null = null;
  for (const m of Object.values(memory.estates)) if (m.wakeAt !== null && (at === null || m.wakeAt < at)) at = m.wakeAt;
  return at;
}

/**
 * Remember alerts that are open in the store (after a restart with an empty memory), so that their
 * clearing condition (door closed, device online) resolves or stamps them. Alerts already stamped
 * (`conditionClearedAt`) are left out: their condition is clear, and a return raises a repeat.
 */
export function seedActive(
  memory: RuleMemory,
  alerts: ReadonlyArray<{ estate: string; gateway: string; device: string; rule: string; key: string; openedAt: number; conditionClearedAt?: number }>,
): RuleMemory {
  const next: RuleMemory = { v: 1, estates: { ...memory.estates } };
  for (const a of alerts) {
    if (a.conditionClearedAt !== undefined) continue;
    const prev = next.estates[a.estate] ?? emptyEstate();
    const m = (next.estates[a.estate] = { ...prev, active: { ...prev.active } });
    const id = activeId(a.rule, a.device, a.key);
    if (!m.active[id]) put(m.active, id, { rule: a.rule as RuleName, gateway: a.gateway, device: a.device, key: a.key, at: a.openedAt }, MEMORY_LIMITS.active);
    m.wakeAt = estateWake(m);
  }
  return next;
}
