import { activeId, MEMORY_LIMITS as CAP, put, type EstateMemory } from './memory.js';
import { autoResolves, maintenanceEnd, type AlertSettings, type RuleName } from './settings.js';
import type { AlertAction } from './actions.js';

/**
 * What the rules (rules.ts) write with while they evaluate one estate: its memory copied on write
 * (a record on its first write, so an input that touches nothing copies nothing), and the raise /
 * clear / keep of the alert lifecycle, which every rule shares.
 */

/** Rules with a clearing condition (docs/alerts.md, last column of the rules table): it resolves or stamps them. */
const CLEARABLE = new Set<RuleName>([
  'door.forced', 'door.held', 'device.tamper', 'vehicle.overstay', 'camera.offline', 'camera.signalLoss', 'gateway.offline', 'gateway.pressure',
  'device.attention',
]);
export type Outcome = 'raised' | 'disabled' | 'maintenance';
type Rec = Exclude<keyof EstateMemory, 'wakeAt'>;

export class Ctx {
  private readonly copied = new Set<Rec>();
  constructor(
    readonly estate: string,
    readonly m: EstateMemory,
    readonly s: AlertSettings,
    readonly now: number,
    readonly actions: AlertAction[],
  ) {}

  get dirty(): boolean {
    return this.copied.size > 0;
  }

  /** A record of this estate's memory that may be written (copied on first use). */
  rec<K extends Rec>(name: K): EstateMemory[K] {
    if (!this.copied.has(name)) {
      this.m[name] = { ...this.m[name] };
      this.copied.add(name);
    }
    return this.m[name];
  }

  set<K extends Rec>(name: K, key: string, value: EstateMemory[K][string]): void {
    put(this.rec(name) as Record<string, EstateMemory[K][string]>, key, value, CAP[name]);
  }

  del(name: Rec, key: string): void {
    if (Object.hasOwn(this.m[name], key)) delete this.rec(name)[key];
  }

  raise(
    rule: RuleName,
    gateway: string,
    device: string,
    key: string,
    data: Record<string, unknown>,
    extra: { severity?: number; eventId?: string; snapshots?: string[] | undefined } = {},
  ): Outcome {
    if (!this.s.rules[rule].enabled) return 'disabled';
    if (maintenanceEnd(this.s, device, this.now) !== undefined) return 'maintenance';
    // The condition is back before its auto-resolve hold-off ended: the same alert goes on. Rules
    // with no clearing condition are not remembered: they would only crowd out the ones that have one.
    if (!this.keep(rule, device, key) && CLEARABLE.has(rule)) this.set('active', activeId(rule, device, key), { rule, gateway, device, key, at: this.now });
    const { severity = this.s.rules[rule].severity, eventId, snapshots } = extra;
    this.actions.push({
      type: 'raise', rule, estate: this.estate, gateway, device, key, severity, at: this.now, data,
      ...(eventId ? { eventId } : {}),
      ...(snapshots?.length ? { snapshots } : {}),
    });
    return 'raised';
  }

  /**
   * The condition cleared. An alert that resolves by itself does so after `clearAfterS` unless the
   * condition comes back first; one a person must resolve (alarms) is stamped at once — the screen
   * shows "门已关闭 03:12" with the time the door closed, not half a minute later — and forgotten
   * here: if the condition comes back, the next raise is a repeat, which removes the stamp.
   */
  clear(rule: RuleName, device: string, key: string, eventId?: string): void {
    const id = activeId(rule, device, key);
    const a = this.m.active[id];
    if (!a || a.clearAt !== undefined) return;
    if (!autoResolves(this.s, rule)) {
      this.del('active', id);
      this.actions.push({
        type: 'clear', resolve: false, rule, estate: this.estate, gateway: a.gateway, device, key, at: this.now,
        ...(eventId ? { eventId } : {}),
      });
      return;
    }
    this.set('active', id, { ...a, clearAt: this.now + this.s.clearAfterS * 1000, ...(eventId ? { clearEventId: eventId } : {}) });
  }

  /** The condition is still (or again) present: forget a pending auto-resolve. */
  keep(rule: RuleName, device: string, key: string): boolean {
    const id = activeId(rule, device, key);
    const a = this.m.active[id];
    if (!a) return false;
    if (a.clearAt !== undefined) {
      const { clearAt: _c, clearEventId: _e, ...rest } = a;
      this.set('active', id, rest);
    }
    return true;
  }
}

