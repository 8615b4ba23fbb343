import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ulid } from 'ulid';
import type { EventType, GatewayStatus, RbEvent } from '../../protocol/index.js';
import { dayKey, nextMidnight } from '../../hub/state/clock.js';
import { apply, tick } from '../../hub/state/reducer.js';
import { createLiveState, StateOptionsSchema, type ApplyResult, type LiveState, type StateInput } from '../../hub/state/types.js';

const opts = StateOptionsSchema.parse({});
const E = 'maple-court';
// 2026-03-10 10:00 in Shanghai (02:00 UTC).
const T0 = Date.UTC(2026, 2, 10, 2, 0, 0);

let seq = 1;
function ev(type: EventType, data: Record<string, unknown>, over: Partial<RbEvent> = {}): StateInput {
  const event = { v: 1, id: ulid(), seq: seq++, ts: Date.now(), estate: E, gateway: 'gw-1', device: 'gate-1', type, data, ...over } as RbEvent;
  return { kind: 'event', event };
}
function status(over: Partial<GatewayStatus> = {}): StateInput {
  return { kind: 'status', status: { v: 1, estate: E, gateway: 'gw-1', state: 'online', ts: Date.now(), reason: 'heartbeat', ...over } };
}
const health = (online: boolean): StateInput => status({ devices: { 'gate-1': { online } } });

/**
 * Drives the reducer the way the service does: apply now, and run tick for each wake when its time
 * comes, on vitest's fake clock.
 */
function harness() {
  const state: LiveState = createLiveState();
  const changes: ApplyResult['changes'] = [];
  const timers = new Map<string, NodeJS.Timeout>();
  const handle = (r: ApplyResult): void => {
    changes.push(...r.changes);
    for (const w of r.wake) {
      clearTimeout(timers.get(w.device));
      timers.set(w.device, setTimeout(() => handle(tick(state, Date.now(), opts, w)), w.at - Date.now()));
    }
  };
  return {
    state,
    changes,
    feed: (input: StateInput) => handle(apply(state, input, Date.now(), opts)),
    of: (kind: string) => changes.filter((c) => c.kind === kind),
    es: () => state.estates.get(E)!,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe('doors', () => {
  it('follows open -> closed -> forced -> held, one change per transition', () => {
    const h = harness();
    h.feed(ev('door.opened', { door: 1 }));
    h.feed(ev('door.opened', { door: 1 }));
    vi.advanceTimersByTime(1000);
    h.feed(ev('door.closed', { door: 1 }));
    h.feed(ev('door.forced', { door: 2 }));
    vi.advanceTimersByTime(1000);
    h.feed(ev('door.held', { door: 2, heldS: 30 }));
    expect(h.of('door').map((c) => [c.key, (c.value as { state: string }).state])).toEqual([
      ['gate-1/1', 'open'],
      ['gate-1/1', 'closed'],
      ['gate-1/2', 'forced'],
      ['gate-1/2', 'held'],
    ]);
    expect(h.es().doors.get('gate-1/2')).toMatchObject({ state: 'held', since: T0 + 2000, heldS: 30 });
  });

  it('ignores an older event (lower gateway seq) replayed after a newer one', () => {
    const h = harness();
    h.feed(ev('door.closed', { door: 1 }, { seq: 20, ts: T0 }));
    h.feed(ev('door.forced', { door: 1 }, { seq: 19, ts: T0 - 5000 }));
    expect(h.es().doors.get('gate-1/1')?.state).toBe('closed');
    expect(h.of('door')).toHaveLength(1);
  });
});

describe('doors in the gateway order (seq), not arrival or device time', () => {
  // One whole second of device time for all three, as cheap controllers report it.
  const trio = () => ({
    opened: ev('door.opened', { door: 1 }, { seq: 101, ts: T0 }),
    closed: ev('door.closed', { door: 1 }, { seq: 102, ts: T0 }),
    forced: ev('door.forced', { door: 1 }, { seq: 103, ts: T0 }),
  });
  const states = (h: ReturnType<typeof harness>) => h.of('door').map((c) => (c.value as { state: string }).state);

  it('opened, closed, forced delivered in order: open, closed, forced, as before', () => {
    const h = harness();
    const t = trio();
    for (const i of [t.opened, t.closed, t.forced]) h.feed(i);
    expect(states(h)).toEqual(['open', 'closed', 'forced']);
    expect(h.es().doors.get('gate-1/1')?.state).toBe('forced');
  });

  it('delivered as opened, forced, closed (the alarm lane overtook): the older close does not show the door closed', () => {
    const h = harness();
    const t = trio();
    for (const i of [t.opened, t.forced, t.closed]) h.feed(i);
    expect(states(h)).toEqual(['open', 'forced']);
    expect(h.es().doors.get('gate-1/1')).toMatchObject({ state: 'forced', since: T0 });
  });

  it('delivered as the outbox replays them, forced then opened, closed: stays forced', () => {
    const h = harness();
    const t = trio();
    for (const i of [t.forced, t.opened, t.closed]) h.feed(i);
    expect(states(h)).toEqual(['forced']);
    // The mark is internal: the view a screen gets has no seq.
    expect(h.of('door')[0]!.value).not.toHaveProperty('mark');
  });

  it('a newer close (higher seq) after the forced one closes the door, even with an older device time', () => {
    const h = harness();
    h.feed(ev('door.forced', { door: 1 }, { seq: 103, ts: T0 }));
    h.feed(ev('door.closed', { door: 1 }, { seq: 104, ts: T0 - 1000 }));
    expect(h.es().doors.get('gate-1/1')?.state).toBe('closed');
  });

  it('a gateway whose seq started again (data dir wiped) is a new epoch: a much newer device time wins', () => {
    const h = harness();
    h.feed(ev('door.forced', { door: 1 }, { seq: 50_000, ts: T0 }));
    h.feed(ev('door.closed', { door: 1 }, { seq: 3, ts: T0 + 60_000 })); // within the gap: an old one
    expect(h.es().doors.get('gate-1/1')?.state).toBe('forced');
    h.feed(ev('door.closed', { door: 1 }, { seq: 4, ts: T0 + 3_600_000 }));
    expect(h.es().doors.get('gate-1/1')?.state).toBe('closed');
  });

  it('another gateway (the device moved) has its own counter: its event applies', () => {
    const h = harness();
    h.feed(ev('door.forced', { door: 1 }, { seq: 500, ts: T0 }));
    h.feed(ev('door.closed', { door: 1 }, { seq: 2, ts: T0, gateway: 'gw-2' }));
    expect(h.es().doors.get('gate-1/1')?.state).toBe('closed');
  });

  it('barriers too: an older close does not overwrite a fault', () => {
    const h = harness();
    h.feed(ev('barrier.fault', { lane: 1, reason: 'motor' }, { seq: 12, ts: T0 }));
    h.feed(ev('barrier.closed', { lane: 1 }, { seq: 11, ts: T0 }));
    expect(h.es().barriers.get('gate-1/1')?.state).toBe('fault');
  });
});

describe('device online/offline with hysteresis', () => {
  it('a first observation is declared at once', () => {
    const h = harness();
    h.feed(health(false));
    expect(h.es().devices.get('gate-1')).toMatchObject({ online: false, gateway: 'gw-1' });
    expect(h.of('device')).toHaveLength(1);
  });

  it('a flap shorter than offlineAfterMs produces no offline change', () => {
    const h = harness();
    h.feed(health(true));
    expect(h.of('device')).toHaveLength(1);
    h.feed(health(false));
    vi.advanceTimersByTime(opts.offlineAfterMs - 1);
    h.feed(health(true));
    vi.advanceTimersByTime(10 * opts.offlineAfterMs);
    expect(h.of('device')).toHaveLength(1);
    expect(h.es().devices.get('gate-1')?.online).toBe(true);
  });

  it('offline for offlineAfterMs is declared, by the timer, with the time it went offline', () => {
    const h = harness();
    h.feed(health(true));
    vi.advanceTimersByTime(1000);
    h.feed(ev('device.offline', { reason: 'no answer' }));
    vi.advanceTimersByTime(opts.offlineAfterMs - 1);
    expect(h.es().devices.get('gate-1')?.online).toBe(true);
    vi.advanceTimersByTime(1);
    expect(h.of('device').at(-1)?.value).toMatchObject({ online: false, since: T0 + 1000, reason: 'no answer' });
  });

  it('comes back online only after onlineAfterMs; any fresh event counts as seen', () => {
    const h = harness();
    h.feed(health(false));
    h.feed(ev('door.opened', { door: 1 }));
    vi.advanceTimersByTime(opts.onlineAfterMs - 1);
    expect(h.es().devices.get('gate-1')?.online).toBe(false);
    vi.advanceTimersByTime(1);
    expect(h.es().devices.get('gate-1')).toMatchObject({ online: true, lastSeen: T0 });
    expect(h.of('device')).toHaveLength(2);
  });

  it('an old replayed event does not prove the device is up', () => {
    const h = harness();
    h.feed(health(false));
    h.feed(ev('door.opened', { door: 1 }, { ts: T0 - 3_600_000 }));
    vi.advanceTimersByTime(opts.onlineAfterMs * 2);
    expect(h.es().devices.get('gate-1')?.online).toBe(false);
    expect(h.es().doors.get('gate-1/1')?.state).toBe('open');
  });

  it('a gateway that disconnects takes its devices offline after the hysteresis, and says lwt', () => {
    const h = harness();
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true });
    h.feed(health(true));
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: false });
    expect(h.es().gateways.get('gw-1')).toMatchObject({ connected: false, state: 'offline', reason: 'lwt' });
    vi.advanceTimersByTime(opts.offlineAfterMs);
    expect(h.es().devices.get('gate-1')).toMatchObject({ online: false, reason: 'gateway-offline' });
  });

  it('a takeover (new connection before the old one ends) keeps the gateway connected', () => {
    const h = harness();
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true });
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true });
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: false });
    expect(h.es().gateways.get('gw-1')?.connected).toBe(true);
  });

  it('a gateway that moved to another node: the old connection\'s end and will, logged after the new one, change nothing', () => {
    const h = harness();
    const old = { since: T0 - 60_000, at: T0 - 59_990 };
    const now = { since: T0 - 1_000, at: T0 - 990 };
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true, ...old });
    h.feed(health(true));
    // Node B logs the new connection and its status before node A logs the old one's end and will.
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true, ...now });
    h.feed(status({ reason: 'connected' }));
    const seen = h.of('gateway').length;
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: false, ...old });
    h.feed(status({ state: 'offline', reason: 'lwt', ts: old.since }));
    vi.advanceTimersByTime(opts.offlineAfterMs * 2);
    expect(h.es().gateways.get('gw-1')).toMatchObject({ connected: true, state: 'online', reason: 'connected' });
    expect(h.of('gateway').slice(seen).map((c) => (c.value as { online: boolean }).online)).not.toContain(false);
    expect(h.es().devices.get('gate-1')?.online).toBe(true);
    // The latest connection's own will is news, however its ts compares with the statuses sent since.
    vi.advanceTimersByTime(1000);
    h.feed(status({ reason: 'heartbeat' }));
    h.feed(status({ state: 'offline', reason: 'lwt', ts: now.since }));
    expect(h.es().gateways.get('gw-1')).toMatchObject({ connected: false, state: 'offline', reason: 'lwt' });
  });

  it('an old connection whose end was never logged (its node was killed) does not keep the gateway connected', () => {
    const h = harness();
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true, since: T0 - 9_000, at: T0 - 8_990 });
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true, since: T0 - 1_000, at: T0 - 990 });
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: false, since: T0 - 1_000, at: T0 - 990 });
    expect(h.es().gateways.get('gw-1')?.connected).toBe(false);
  });

  it('the latest connection\'s will ends it, even when no disconnect is logged (its node died)', () => {
    const h = harness();
    const conn = { since: T0 - 5_000, at: T0 - 4_990 };
    h.feed({ kind: 'connection', estate: E, gateway: 'gw-1', connected: true, ...conn });
    h.feed(status({ reason: 'connected' }));
    vi.advanceTimersByTime(60_000);
    h.feed(status({ state: 'offline', reason: 'lwt', ts: conn.since }));
    expect(h.es().gateways.get('gw-1')).toMatchObject({ connected: false, state: 'offline', reason: 'lwt' });
  });
});

describe('gateways', () => {
  it('keeps the last status; ignores an older one; outbox pressure events set pressure', () => {
    const h = harness();
    h.feed(status({ version: '1.2.3', uptimeS: 10, outbox: { depth: 3, alarms: 0, bytes: 10, oldestAgeS: 1, droppedTotal: 0, droppedSinceStart: 0, pressure: false } }));
    h.feed(status({ ts: T0 - 1, state: 'offline', reason: 'shutdown' }));
    expect(h.es().gateways.get('gw-1')).toMatchObject({ state: 'online', version: '1.2.3', uptimeS: 10 });
    h.feed(ev('gateway.outbox.pressure', { reason: 'cap', depth: 100, bytes: 1, maxRecords: 100, maxBytes: 10, droppedTotal: 5, droppedSinceStart: 5 }, { device: 'gw-1' }));
    expect(h.es().gateways.get('gw-1')?.outbox).toMatchObject({ pressure: true, depth: 100, droppedTotal: 5 });
    expect(h.es().devices.has('gw-1')).toBe(false);
    vi.advanceTimersByTime(1);
    h.feed(status({ state: 'offline', reason: 'shutdown' }));
    expect(h.of('gateway').at(-1)?.value).toMatchObject({ state: 'offline', reason: 'shutdown', online: false });
  });
});

describe('occupancy', () => {
  const car = (type: 'vehicle.entered' | 'vehicle.exited', ts = Date.now()) =>
    ev(type, { lane: 1, plate: '京A12345', list: 'allow' }, { device: 'barrier-1', ts });

  it('counts in minus out and never goes negative', () => {
    const h = harness();
    h.feed(car('vehicle.exited'));
    h.feed(car('vehicle.exited'));
    expect(h.es().occupancy).toMatchObject({ count: 0, exited: 2 });
    h.feed(car('vehicle.entered'));
    h.feed(car('vehicle.entered'));
    h.feed(car('vehicle.exited'));
    expect(h.es().occupancy).toMatchObject({ day: '2026-03-10', count: 1, entered: 2, exited: 3 });
    expect(h.of('occupancy').every((c) => (c.value as { count: number }).count >= 0)).toBe(true);
  });

  it('resets at local midnight (Asia/Shanghai) on tick and ignores yesterday replayed', () => {
    const h = harness();
    h.feed(car('vehicle.entered'));
    const midnight = nextMidnight(Date.now(), opts.timeZone);
    expect(midnight).toBe(Date.UTC(2026, 2, 10, 16, 0, 0)); // 00:00 +08:00 on the 11th
    vi.setSystemTime(midnight - 1);
    expect(tick(h.state, Date.now(), opts).changes).toHaveLength(0);
    vi.setSystemTime(midnight);
    const r = tick(h.state, Date.now(), opts);
    expect(r.changes).toEqual([{ estate: E, kind: 'occupancy', key: E, value: { day: '2026-03-11', count: 0, entered: 0, exited: 0 }, ts: midnight }]);
    h.feed(car('vehicle.entered', midnight - 60_000));
    expect(h.es().occupancy.count).toBe(0);
    h.feed(car('vehicle.entered'));
    expect(h.es().occupancy.count).toBe(1);
  });

  it('rolls the day over on the next input even without a tick', () => {
    const h = harness();
    h.feed(car('vehicle.entered'));
    vi.setSystemTime(T0 + 86_400_000);
    h.feed(car('vehicle.exited'));
    expect(h.es().occupancy).toMatchObject({ day: '2026-03-11', count: 0, entered: 0, exited: 1 });
  });

  it('computes days and midnights in other zones too', () => {
    expect(dayKey(Date.UTC(2026, 2, 10, 16, 0, 0), 'Asia/Shanghai')).toBe('2026-03-11');
    expect(dayKey(Date.UTC(2026, 2, 10, 16, 0, 0), 'UTC')).toBe('2026-03-10');
    // Europe/Berlin switches to summer time on 2026-03-29: midnight of the 30th is 22:00 UTC.
    expect(nextMidnight(Date.UTC(2026, 2, 29, 12), 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 22));
  });
});

describe('cameras, barriers, bounds', () => {
  it('tracks camera conditions and barrier lanes', () => {
    const h = harness();
    h.feed(ev('camera.motion', { state: true }, { device: 'cam-1' }));
    h.feed(ev('camera.tamper', { state: true }, { device: 'cam-1' }));
    h.feed(ev('camera.motion', { state: false }, { device: 'cam-1' }));
    expect(h.of('camera').at(-1)?.value).toMatchObject({ device: 'cam-1', motion: false, tamper: true, signalLoss: false });
    h.feed(ev('barrier.opened', { lane: 2 }, { device: 'barrier-1' }));
    h.feed(ev('barrier.fault', { reason: 'motor' }, { device: 'barrier-1' }));
    expect(h.of('barrier').map((c) => [c.key, (c.value as { state: string }).state])).toEqual([
      ['barrier-1/2', 'open'],
      ['barrier-1/1', 'fault'],
    ]);
  });

  it('refuses devices beyond the per-estate bound', () => {
    const state = createLiveState();
    const small = { ...opts, maxDevicesPerEstate: 2 };
    for (const device of ['a', 'b', 'c']) apply(state, ev('door.opened', { door: 1 }, { device }), Date.now(), small);
    expect(state.estates.get(E)?.devices.size).toBe(2);
    expect(state.refused).toBe(1);
  });
});

describe('device names and kinds', () => {
  it('come from the gateway status and show in the device view', () => {
    const h = harness();
    h.feed(status({ devices: { 'gate-1': { online: true, kind: 'access-gate', name: '东门' }, 'cam-1': { online: true, kind: 'onvif-camera' } } }));
    expect(h.es().devices.get('gate-1')).toMatchObject({ name: '东门', kind: 'access-gate' });
    expect(h.es().devices.get('cam-1')).toMatchObject({ kind: 'onvif-camera' });
    expect(h.es().devices.get('cam-1')?.name).toBeUndefined();
  });
});

describe('device details: auth-failed, make and model, warnings', () => {
  const info = { manufacturer: 'Hikvision', model: 'DS-2CD2T47', firmware: 'V5.7.3' };
  it('shows auth-failed at once from the status (the offline declaration still waits its hysteresis) and clears with device.online', () => {
    const h = harness();
    h.feed(status({ devices: { 'gate-1': { online: true, state: 'online', info } } }));
    expect(h.of('device').at(-1)?.value).toMatchObject({ online: true, info });
    vi.advanceTimersByTime(1000);
    h.feed(status({ devices: { 'gate-1': { online: false, state: 'auth-failed', error: 'GetDeviceInformation: refused', info } } }));
    expect(h.of('device').at(-1)?.value).toMatchObject({ online: true, condition: 'auth-failed', error: 'GetDeviceInformation: refused' });
    const count = h.of('device').length;
    // The same status again is no news.
    h.feed(status({ devices: { 'gate-1': { online: false, state: 'auth-failed', error: 'GetDeviceInformation: refused', info } } }));
    expect(h.of('device')).toHaveLength(count);
    vi.advanceTimersByTime(opts.offlineAfterMs);
    expect(h.of('device').at(-1)?.value).toMatchObject({ online: false, condition: 'auth-failed', reason: 'auth-failed' });
    h.feed(ev('device.online', {}));
    expect(h.of('device').at(-1)?.value).toMatchObject({ condition: undefined });
  });

  it('takes auth-failed from a device.offline event too, and shows a warning and the firmware', () => {
    const h = harness();
    h.feed(ev('device.offline', { reason: 'HTTP 401', state: 'auth-failed' }));
    expect(h.es().devices.get('gate-1')).toMatchObject({ condition: 'auth-failed', error: 'HTTP 401' });
    const warnings = [{ code: 'pull-early' as const, message: 'answers PullMessages at once', since: T0 }];
    h.feed(status({ devices: { 'gate-1': { online: true, state: 'online', info, warnings } } }));
    expect(h.of('device').at(-1)?.value).toMatchObject({ condition: undefined, warnings, info });
    h.feed(status({ devices: { 'gate-1': { online: true, state: 'online', info, warnings, cameras: ['cam-1'] } } }));
    expect(h.of('device').at(-1)?.value).toMatchObject({ cameras: ['cam-1'] });
  });
});
