import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ulid } from 'ulid';
import { createBus, type Bus } from '../../hub/bus.js';
import { createCoalescer } from '../../hub/state/coalesce.js';
import { createStateService, type StateService } from '../../hub/state/index.js';
import type { StateChange } from '../../hub/state/types.js';
import type { RbEvent } from '../../protocol/index.js';

const T0 = Date.UTC(2026, 2, 10, 15, 59, 0); // 23:59 in Shanghai
const change = (key: string, value: unknown): StateChange => ({ estate: 'e', kind: 'door', key, value, ts: Date.now() });

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe('coalescer', () => {
  it('emits the first change at once and at most one per key per window, last value wins', () => {
    const out: StateChange[] = [];
    const c = createCoalescer(250, (x) => out.push(x));
    c.push(change('a', 1));
    c.push(change('a', 2));
    c.push(change('a', 3));
    c.push(change('b', 1));
    expect(out.map((x) => [x.key, x.value])).toEqual([['a', 1], ['b', 1]]);
    vi.advanceTimersByTime(249);
    expect(out).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(out.map((x) => [x.key, x.value])).toEqual([['a', 1], ['b', 1], ['a', 3]]);
    c.push(change('a', 4)); // inside the window opened by the trailing emit
    vi.advanceTimersByTime(250);
    expect(out.at(-1)?.value).toBe(4);
    vi.advanceTimersByTime(250);
    c.push(change('a', 5)); // quiet again: at once
    expect(out.at(-1)?.value).toBe(5);
    expect(out).toHaveLength(5);
    c.stop();
  });
});

describe('state service on the bus', () => {
  let bus: Bus;
  let service: StateService;
  const pushed: StateChange[] = [];

  beforeEach(async () => {
    pushed.length = 0;
    bus = createBus(pino({ level: 'silent' }));
    bus.on('state', (c) => void pushed.push(c));
    service = createStateService({ bus, log: pino({ level: 'silent' }) });
    await service.start();
  });
  afterEach(() => service.stop());

  const event = (type: RbEvent['type'], data: Record<string, unknown>, device = 'gate-1'): RbEvent =>
    ({ v: 1, id: ulid(), seq: 1, ts: Date.now(), estate: 'e', gateway: 'gw-1', device, type, data }) as RbEvent;

  it('drives hysteresis and the midnight reset with its own timers', () => {
    bus.emit('gateway.connection', { estate: 'e', gateway: 'gw-1', connected: true });
    bus.emit('gateway.status', { v: 1, estate: 'e', gateway: 'gw-1', state: 'online', ts: Date.now(), devices: { 'gate-1': { online: true } } });
    bus.emit('event', event('vehicle.entered', { list: 'allow' }, 'barrier-1'));
    expect(service.summaries()).toEqual([
      expect.objectContaining({ estate: 'e', gateways: { online: 1, total: 1 }, devices: { offline: 0, total: 2 }, occupancy: 1 }),
    ]);
    bus.emit('event', event('device.offline', {}));
    vi.advanceTimersByTime(59_999);
    expect(service.device('e', 'gate-1')).toMatchObject({ online: true, pending: { online: false } });
    vi.advanceTimersByTime(1); // 60 s after: declared offline; also past local midnight
    expect(service.device('e', 'gate-1')).toMatchObject({ online: false, pending: undefined });
    expect(service.estate('e')?.occupancy).toEqual({ day: '2026-03-11', count: 0, entered: 0, exited: 0 });
    expect(pushed.filter((c) => c.kind === 'device').map((c) => (c.value as { online: boolean }).online)).toEqual([true, true, false]);
    expect(pushed.filter((c) => c.kind === 'occupancy').map((c) => (c.value as { count: number }).count)).toEqual([1, 0]);
  });

  it('coalesces a burst on one key into two pushes, the last value last', () => {
    for (const type of ['door.opened', 'door.closed', 'door.opened', 'door.forced'] as const) bus.emit('event', event(type, { door: 1 }));
    vi.advanceTimersByTime(300);
    const doors = pushed.filter((c) => c.kind === 'door');
    expect(doors.map((c) => (c.value as { state: string }).state)).toEqual(['open', 'forced']);
    expect(service.estate('e')?.doors).toEqual([expect.objectContaining({ device: 'gate-1', door: 1, state: 'forced' })]);
  });

  it('ignores the bus after stop', async () => {
    await service.stop();
    bus.emit('event', event('door.opened', { door: 1 }));
    expect(service.summaries()).toEqual([]);
  });
});
