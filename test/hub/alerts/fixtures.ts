import { ulid } from 'ulid';
import { validateEvent, type EventType, type RbEvent } from '../../../protocol/index.js';
import { createRuleMemory, evaluate, type AlertAction, type RuleInput, type RuleMemory } from '../../../hub/alerts/rules.js';
import { resolveSettings, type AlertSettings, type AlertSettingsInput } from '../../../hub/alerts/settings.js';

export const E = 'maple-court';
export const GW = 'gw-1';

/** Wall time in Asia/Shanghai (UTC+8, no daylight saving) as ms since epoch. */
export const sh = (y: number, mo: number, d: number, h: number, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h - 8, mi, s);
/** 2026-03-10 10:00 Shanghai: day time. */
export const DAY = sh(2026, 3, 10, 10);
/** 2026-03-10 23:30 Shanghai: night and quiet hours. */
export const NIGHT = sh(2026, 3, 10, 23, 30);

let seq = 1;
/** A valid event (checked against the protocol schemas, so a fixture cannot drift from the contract). */
export function ev(type: EventType, data: Record<string, unknown>, over: Partial<Omit<RbEvent, 'type' | 'data'>> = {}): RbEvent {
  const raw = { v: 1, id: ulid(), seq: seq++, ts: DAY, estate: E, gateway: GW, device: 'gate-1', type, data, ...over };
  const r = validateEvent(raw);
  if (!r.ok) throw new Error(`bad fixture: ${r.message}`);
  return r.event;
}

/**
 * Drives the pure rule function the way a service would: feed inputs at explicit times and run the
 * ticks the engine asks for (`wakeAt`) up to a time.
 */
export class Engine {
  memory: RuleMemory = createRuleMemory();
  actions: AlertAction[] = [];
  wakeAt: number | null = null;
  settings: AlertSettings;

  constructor(settings: AlertSettingsInput = {}) {
    this.settings = resolveSettings(settings);
  }

  feed(input: RuleInput, now: number): AlertAction[] {
    this.runUntil(now);
    return this.apply(input, now);
  }

  event(e: RbEvent, now = e.ts): AlertAction[] {
    return this.feed({ kind: 'event', event: e }, now);
  }

  /** Run every tick due up to `until`, at the instant it was asked for. */
  runUntil(until: number): AlertAction[] {
    const out: AlertAction[] = [];
    while (this.wakeAt !== null && this.wakeAt <= until) out.push(...this.apply({ kind: 'tick' }, this.wakeAt));
    return out;
  }

  private apply(input: RuleInput, now: number): AlertAction[] {
    const r = evaluate(this.memory, input, now, () => this.settings);
    this.memory = r.memory;
    this.wakeAt = r.wakeAt;
    this.actions.push(...r.actions);
    return r.actions;
  }

  raises(rule?: string) {
    return this.actions.filter((a) => a.type === 'raise' && (rule === undefined || a.rule === rule));
  }

  clears(rule?: string) {
    return this.actions.filter((a) => a.type === 'clear' && (rule === undefined || a.rule === rule));
  }
}
