import { createHash } from 'node:crypto';
import type { RbEvent } from '../../protocol/index.js';
import { isOlder } from '../../protocol/order.js';
import { inDailyWindow } from './hours.js';
import { emptyEstate, estateWake, memoryWake, type EstateMemory, type OfflineTimer, type RuleMemory } from './memory.js';
import { autoResolves, maintenanceEnd, type AlertSettings } from './settings.js';
import type { AlertAction, RuleInput, RuleResult } from './actions.js';
import { Ctx, type Outcome } from './rules-ctx.js';

export { createRuleMemory, MEMORY_LIMITS, seedActive, type RuleMemory } from './memory.js';
export type { AlertAction, ClearAction, RaiseAction, RuleInput, RuleResult } from './actions.js';

/**
 * The alert rules of docs/alerts.md as one pure function: (memory, input, now, settings) → (memory,
 * actions, wakeAt). No clock, no timers, no I/O: the caller feeds bus inputs, and a `tick` at
 * `wakeAt`. Wall-clock decisions (night, maintenance) and timers use hub time `now`, which does not
 * drift like a cheap device clock; only the denied-access window measures device times, because it is
 * about the gaps between one device's own events (a replayed backlog must not look like a burst).
 * Door events are judged in their gateway's order (`seq`, protocol/order.ts), not in arrival order:
 * after an outage the alarm lane overtakes older routine events, and the `door.closed` that came
 * before a `door.forced` must not stamp it.
 */

/** A short hash of a plate, for alert keys: keys are not masked, so they carry no plate. */
export const plateKey = (plate: string): string => `visitor:${createHash('sha256').update(plate).digest('hex').slice(0, 16)}`;

const CAMERA_KINDS = new Set(['onvif-camera', 'camera']);
/** What device.attention is raised for: one alert per device and problem (its key). */
const ATTENTION = ['auth-failed', 'pull-early'] as const;

/**
 * Apply one input. `memory` is not modified: the estates the input touches are copied. `settingsOf`
 * returns the resolved settings of an estate (see resolveSettings).
 */
export function evaluate(
  memory: RuleMemory,
  input: RuleInput,
  now: number,
  settingsOf: (estate: string) => AlertSettings,
): RuleResult {
  // Fast path: an event no rule reacts to (most traffic: access.granted, ...) in an estate with no
  // timer due changes nothing, so nothing is copied and the memory is returned as it is.
  if (input.kind === 'event' && !REACTS.has(input.event.type)) {
    const m = memory.estates[input.event.estate];
    if (!m || m.wakeAt === null || m.wakeAt > now) return { memory, actions: [], wakeAt: wakeOf(memory) };
  }
  const next: RuleMemory = { v: 1, estates: { ...memory.estates } };
  const actions: AlertAction[] = [];
  const touch = (estate: string): Ctx => {
    // Copy on write: the estate object now, each record on its first write (Ctx.rec), each entry
    // replaced rather than changed. A deep copy per event costs milliseconds at a thousand entries.
    const m = { ...(memory.estates[estate] ?? emptyEstate()) };
    next.estates[estate] = m;
    return new Ctx(estate, m, settingsOf(estate), now, actions);
  };
  const ctxs: Ctx[] = [];
  if (input.kind === 'tick') {
    for (const [estate, m] of Object.entries(memory.estates)) if (m.wakeAt !== null && m.wakeAt <= now) ctxs.push(touch(estate));
  } else {
    const ctx = touch(input.kind === 'event' ? input.event.estate : input.estate);
    ctxs.push(ctx);
    if (input.kind === 'event') onEvent(ctx, input.event);
    else if (input.kind === 'device') onDevice(ctx, input);
    else onGateway(ctx, input);
  }
  for (const ctx of ctxs) {
    // Scan the timers only when one is due, and recompute the wake only after a write: an event that
    // touches no timer costs the same with a thousand doors open as with none.
    if (ctx.dirty) ctx.m.wakeAt = estateWake(ctx.m);
    if (ctx.m.wakeAt !== null && ctx.m.wakeAt <= now) {
      runTimers(ctx);
      ctx.m.wakeAt = estateWake(ctx.m);
    }
  }
  const wakeAt = memoryWake(next);
  wakes.set(next, wakeAt);
  return { memory: next, actions, wakeAt };
}

/** Event types onEvent acts on; any other event only runs the due timers of its estate. */
const REACTS = new Set<string>([
  'door.opened', 'door.closed', 'door.forced', 'door.held', 'access.denied', 'device.tamper', 'camera.tamper',
  'camera.signalLoss', 'camera.motion', 'barrier.fault', 'vehicle.entered', 'vehicle.exited', 'vehicle.denied',
  'gateway.outbox.pressure', 'patrol.missed',
]);

/** memoryWake of memories evaluate returned (never modified afterwards), so the fast path does not rescan. */
const wakes = new WeakMap<RuleMemory, number | null>();
function wakeOf(memory: RuleMemory): number | null {
  let at = wakes.get(memory);
  if (at === undefined) wakes.set(memory, (at = memoryWake(memory)));
  return at;
}

/** Event data for an alert: without vendor source and snapshot list, plus type and device time. */
function dataOf(e: RbEvent): Record<string, unknown> {
  const { source: _s, snapshots: _p, ...rest } = e.data as Record<string, unknown>;
  return { type: e.type, ts: e.ts, ...rest };
}

/**
 * A door event older (lower gateway seq) than the last one applied to its door: a routine event the
 * alarm lane overtook. It opens, closes and restarts nothing. An alarm among them is still raised
 * (an alarm is never dropped), and stamped at once when a newer event already closed the door.
 * A newer event moves the door's mark.
 */
function staleDoor(ctx: Ctx, e: RbEvent & { data: { door: number } }): boolean {
  const k = `${e.device}/${e.data.door}`;
  const mark = ctx.m.order[k];
  if (!isOlder(mark, e)) {
    ctx.set('order', k, { gateway: e.gateway, seq: e.seq, ts: e.ts, closed: e.type === 'door.closed' });
    return false;
  }
  if (e.type !== 'door.forced' && e.type !== 'door.held') return true;
  const key = `door:${e.data.door}`;
  const outcome = e.type === 'door.forced' ? raiseForced(ctx, e) : ctx.raise('door.held', e.gateway, e.device, key, dataOf(e), { eventId: e.id });
  if (outcome === 'raised' && mark!.closed) ctx.clear(e.type, e.device, key);
  return true;
}

/** door.forced, more severe at night. */
function raiseForced(ctx: Ctx, e: RbEvent & { data: { door: number } }): Outcome {
  const night = inDailyWindow(ctx.now, ctx.s.nightHours, ctx.s.timeZone);
  const r = ctx.s.rules['door.forced'];
  return ctx.raise('door.forced', e.gateway, e.device, `door:${e.data.door}`, { ...dataOf(e), night }, { eventId: e.id, severity: night ? r.nightSeverity : r.severity });
}

function onEvent(ctx: Ctx, e: RbEvent): void {
  const { m, s, now } = ctx;
  const ref = { eventId: e.id };
  if ((e.type === 'door.opened' || e.type === 'door.closed' || e.type === 'door.forced' || e.type === 'door.held') && staleDoor(ctx, e)) return;
  switch (e.type) {
    case 'door.opened': {
      const k = `${e.device}/${e.data.door}`;
      if (s.rules['door.held'].enabled && !m.doors[k]) {
        const due = now + s.rules['door.held'].heldS * 1000;
        ctx.set('doors', k, { gateway: e.gateway, device: e.device, door: e.data.door, openedAt: now, due, raised: false, eventId: e.id });
      }
      return;
    }
    case 'door.closed': {
      ctx.del('doors', `${e.device}/${e.data.door}`);
      ctx.clear('door.held', e.device, `door:${e.data.door}`, e.id);
      ctx.clear('door.forced', e.device, `door:${e.data.door}`, e.id);
      return;
    }
    case 'door.forced': {
      raiseForced(ctx, e);
      // A forced door does not also start the held timer: the more severe alert is already open.
      ctx.del('doors', `${e.device}/${e.data.door}`);
      return;
    }
    case 'door.held': {
      const k = `${e.device}/${e.data.door}`;
      ctx.raise('door.held', e.gateway, e.device, `door:${e.data.door}`, dataOf(e), ref);
      const t = m.doors[k];
      ctx.set('doors', k, t ? { ...t, raised: true } : { gateway: e.gateway, device: e.device, door: e.data.door, openedAt: now, due: now, raised: true, eventId: e.id });
      return;
    }
    case 'access.denied': {
      const r = s.rules['access.denied.burst'];
      if (!r.enabled) return;
      const times = (m.denied[e.device] ?? []).filter((t) => t > e.ts - r.windowS * 1000 && t <= e.ts);
      times.push(e.ts);
      if (times.length >= r.count) {
        // Start counting again: the next burst counts as a repeat on the same alert.
        ctx.set('denied', e.device, []);
        ctx.raise('access.denied.burst', e.gateway, e.device, '', { ...dataOf(e), count: times.length, windowS: r.windowS }, ref);
      } else ctx.set('denied', e.device, times.slice(-r.count));
      return;
    }
    case 'device.tamper':
      ctx.raise('device.tamper', e.gateway, e.device, '', dataOf(e), ref);
      return;
    case 'camera.tamper':
    case 'camera.signalLoss': {
      if (!Object.hasOwn(m.cameras, e.device)) ctx.set('cameras', e.device, now);
      const rule = e.type === 'camera.tamper' ? 'device.tamper' : 'camera.signalLoss';
      if (e.data.state) ctx.raise(rule, e.gateway, e.device, '', dataOf(e), { ...ref, snapshots: e.data.snapshots });
      else ctx.clear(rule, e.device, '', e.id);
      return;
    }
    case 'camera.motion': {
      if (!Object.hasOwn(m.cameras, e.device)) ctx.set('cameras', e.device, now);
      const zones = s.rules['motion.night'].zones;
      const inZone = zones.some((z) => z.device === e.device && (z.rule === undefined || z.rule === e.data.rule));
      if (e.data.state && inZone && inDailyWindow(now, s.nightHours, s.timeZone)) {
        ctx.raise('motion.night', e.gateway, e.device, `zone:${e.data.rule ?? ''}`, dataOf(e), { ...ref, snapshots: e.data.snapshots });
      }
      return;
    }
    case 'barrier.fault':
      ctx.raise('barrier.fault', e.gateway, e.device, `lane:${e.data.lane ?? 1}`, dataOf(e), ref);
      return;
    case 'vehicle.entered':
    case 'vehicle.exited':
    case 'vehicle.denied': {
      const d = e.data;
      if (d.list === 'block' || (e.type === 'vehicle.denied' && e.data.reason === 'blocklist')) {
        ctx.raise('plate.blocklisted', e.gateway, e.device, `lane:${d.lane ?? 1}`, dataOf(e), { ...ref, snapshots: d.snapshots });
      }
      if (e.type !== 'vehicle.denied' && d.plate) onVisitor(ctx, e, d.plate, e.type === 'vehicle.entered');
      return;
    }
    case 'gateway.outbox.pressure':
      ctx.raise('gateway.pressure', e.gateway, e.device, '', dataOf(e), ref);
      return;
    case 'patrol.missed':
      // A hub event (protocol/hub-events.ts; a gateway cannot send one): device = the checkpoint. A
      // repeat (the same checkpoint missed in a later run while this alert is open) counts on it.
      ctx.raise('patrol.missed', e.gateway, e.device, '', dataOf(e), ref);
      return;
    default:
      return;
  }
}

function onVisitor(ctx: Ctx, e: RbEvent & { data: { lane?: number; list: string } }, plate: string, entered: boolean): void {
  const { m, s, now } = ctx;
  const k = `p:${plate}`;
  const prev = m.visitors[k];
  if (prev) {
    // Its exit, or a new entry after an exit the camera missed: either way it is no longer overstaying.
    ctx.del('visitors', k);
    if (prev.raised) ctx.clear('vehicle.overstay', prev.device, plateKey(plate), e.id);
  }
  if (!entered || e.data.list !== 'other' || !s.rules['vehicle.overstay'].enabled) return;
  const due = now + s.rules['vehicle.overstay'].overstayMinutes * 60_000;
  ctx.set('visitors', k, {
    gateway: e.gateway, device: e.device, plate, enteredAt: now, due, raised: false, eventId: e.id,
    ...(e.data.lane !== undefined ? { lane: e.data.lane } : {}),
  });
}

function onDevice(ctx: Ctx, i: Extract<RuleInput, { kind: 'device' }>): void {
  attention(ctx, i);
  const isCamera = i.deviceKind !== undefined ? CAMERA_KINDS.has(i.deviceKind) : Object.hasOwn(ctx.m.cameras, i.device);
  if (!isCamera) return;
  if (i.deviceKind && !Object.hasOwn(ctx.m.cameras, i.device)) ctx.set('cameras', i.device, ctx.now);
  // A camera refusing our credentials is reachable: device.attention says what to fix, not camera.offline.
  const reachable = i.online || i.condition === 'auth-failed';
  offline(ctx, 'camera.offline', i.gateway, i.device, reachable, Math.min(i.since, ctx.now), ctx.s.rules['camera.offline'].afterS);
}

/** device.attention: open while the device refuses our credentials or misbehaves; clears when that ends. */
function attention(ctx: Ctx, i: Extract<RuleInput, { kind: 'device' }>): void {
  for (const problem of ATTENTION) {
    const present = problem === 'auth-failed' ? i.condition === 'auth-failed' : (i.warnings ?? []).includes(problem);
    if (!present) {
      ctx.clear('device.attention', i.device, problem);
      continue;
    }
    // Once per episode: the device input repeats on every change of the device.
    if (ctx.keep('device.attention', i.device, problem)) continue;
    const data = { type: 'device.attention', problem, ...(i.deviceKind ? { kind: i.deviceKind } : {}) };
    ctx.raise('device.attention', i.gateway, i.device, problem, data);
  }
}

function onGateway(ctx: Ctx, i: Extract<RuleInput, { kind: 'gateway' }>): void {
  offline(ctx, 'gateway.offline', i.gateway, i.gateway, i.online, ctx.now, ctx.s.rules['gateway.offline'].afterS);
  if (i.pressure === false) ctx.clear('gateway.pressure', i.gateway, '');
}

function offline(ctx: Ctx, rule: OfflineTimer['rule'], gateway: string, device: string, online: boolean, since: number, afterS: number): void {
  const k = `${rule}|${device}`;
  if (online) {
    ctx.del('offline', k);
    ctx.clear(rule, device, '');
    return;
  }
  if (ctx.m.offline[k]) return; // already counting (or raised)
  // Offline again while its alert waits to auto-resolve: the same alert goes on.
  const raised = ctx.keep(rule, device, '');
  if (!raised && !ctx.s.rules[rule].enabled) return;
  ctx.set('offline', k, { rule, gateway, device, since, due: since + afterS * 1000, raised });
}

/** Raise what is due, emit the auto-resolves whose hold-off ended. */
function runTimers(ctx: Ctx): void {
  const { m, now } = ctx;
  const fire = <K extends 'doors' | 'visitors' | 'offline'>(name: K, k: string, t: EstateMemory[K][string], raise: () => Outcome): void => {
    if (t.raised || t.due > now) return;
    const outcome = raise();
    if (outcome === 'maintenance') ctx.set(name, k, { ...t, due: maintenanceEnd(ctx.s, t.device, now) ?? now + 60_000 });
    else ctx.set(name, k, { ...t, raised: true }); // raised, or the rule is switched off: either way this timer is done
  };
  for (const [k, t] of Object.entries(m.doors)) {
    fire('doors', k, t, () =>
      ctx.raise('door.held', t.gateway, t.device, `door:${t.door}`, { type: 'door.held', door: t.door, heldS: Math.round((now - t.openedAt) / 1000), timer: true }, t.eventId ? { eventId: t.eventId } : {}),
    );
  }
  for (const [k, t] of Object.entries(m.visitors)) {
    fire('visitors', k, t, () =>
      ctx.raise('vehicle.overstay', t.gateway, t.device, plateKey(t.plate), {
        type: 'vehicle.overstay', plate: t.plate, enteredAt: t.enteredAt, minutes: Math.round((now - t.enteredAt) / 60_000),
        ...(t.lane !== undefined ? { lane: t.lane } : {}),
      }, { eventId: t.eventId }),
    );
  }
  for (const [k, t] of Object.entries(m.offline)) {
    fire('offline', k, t, () => ctx.raise(t.rule, t.gateway, t.device, '', { type: t.rule, since: t.since, offlineS: Math.round((now - t.since) / 1000) }));
  }
  for (const [id, a] of Object.entries(m.active)) {
    if (a.clearAt === undefined || a.clearAt > now) continue;
    ctx.del('active', id);
    // Asked again now: the estate may have switched auto-resolve off during the hold-off.
    ctx.actions.push({
      type: 'clear', resolve: autoResolves(ctx.s, a.rule), rule: a.rule, estate: ctx.estate, gateway: a.gateway, device: a.device, key: a.key, at: now,
      ...(a.clearEventId ? { eventId: a.clearEventId } : {}),
    });
  }
}
