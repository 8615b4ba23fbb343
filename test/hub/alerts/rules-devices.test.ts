import { describe, expect, it } from 'vitest';
import { plateKey, type RaiseAction } from '../../../hub/alerts/rules.js';
import { DAY, E, Engine, ev, GW, sh } from './fixtures.js';

const S = 1000;
const MIN = 60 * S;
const SHA = 'a'.repeat(64);

describe('device.tamper, camera.signalLoss, barrier.fault, gateway.pressure', () => {
  it('device.tamper raises severity 3 and never clears by itself', () => {
    const en = new Engine({ clearAfterS: 0 });
    expect(en.event(ev('device.tamper', { zone: 1 }))).toMatchObject([{ rule: 'device.tamper', key: '', severity: 3, data: { zone: 1 } }]);
  });

  it('camera tamper raises device.tamper (with snapshots); its state going false stamps the alarm at once, a person resolves it', () => {
    const en = new Engine();
    const on = ev('camera.tamper', { state: true, snapshots: [SHA] }, { device: 'cam-1' });
    const [a] = en.event(on) as RaiseAction[];
    expect(a).toMatchObject({ rule: 'device.tamper', device: 'cam-1', severity: 3, snapshots: [SHA], eventId: on.id });
    expect(a!.data).not.toHaveProperty('snapshots');
    const off = ev('camera.tamper', { state: false }, { device: 'cam-1' });
    expect(en.event(off, DAY + 10 * S)).toEqual([
      { type: 'clear', resolve: false, rule: 'device.tamper', estate: E, gateway: GW, device: 'cam-1', key: '', at: DAY + 10 * S, eventId: off.id },
    ]);
    expect(en.runUntil(DAY + 40 * S)).toEqual([]);
    // Tampered again: a repeat of the same alert (the store removes the stamp).
    expect(en.event(ev('camera.tamper', { state: true }, { device: 'cam-1' }), DAY + 50 * S)).toMatchObject([{ type: 'raise', rule: 'device.tamper', device: 'cam-1' }]);
  });

  it('camera.signalLoss raises severity 3 on true; false stamps it (an alarm: no auto-resolve)', () => {
    const en = new Engine({ clearAfterS: 0 });
    expect(en.event(ev('camera.signalLoss', { state: true }, { device: 'cam-1' }))).toMatchObject([{ rule: 'camera.signalLoss', severity: 3 }]);
    expect(en.event(ev('camera.signalLoss', { state: false }, { device: 'cam-1' }), DAY + S)).toMatchObject([{ type: 'clear', resolve: false, rule: 'camera.signalLoss' }]);
  });

  it('barrier.fault raises per lane and never clears', () => {
    const en = new Engine({ clearAfterS: 0 });
    expect(en.event(ev('barrier.fault', { lane: 2, reason: 'motor stalled' }, { device: 'barrier-1' }))).toMatchObject([
      { rule: 'barrier.fault', key: 'lane:2', severity: 2, data: { reason: 'motor stalled' } },
    ]);
    expect(en.event(ev('barrier.fault', { reason: 'x' }, { device: 'barrier-1' }))).toMatchObject([{ key: 'lane:1' }]);
    en.event(ev('barrier.closed', { lane: 2 }, { device: 'barrier-1' }));
    expect(en.clears()).toEqual([]);
  });

  it('gateway.pressure raises on the pressure event (device = gateway) and clears on a status without pressure', () => {
    const en = new Engine({ clearAfterS: 0 });
    const data = { reason: 'cap', depth: 10, bytes: 100, maxRecords: 10, maxBytes: 1000, droppedTotal: 3, droppedSinceStart: 3 };
    expect(en.event(ev('gateway.outbox.pressure', data, { device: GW }))).toMatchObject([{ rule: 'gateway.pressure', device: GW, gateway: GW, severity: 2 }]);
    expect(en.feed({ kind: 'gateway', estate: E, gateway: GW, online: true, pressure: true }, DAY + S)).toEqual([]);
    expect(en.feed({ kind: 'gateway', estate: E, gateway: GW, online: true, pressure: false }, DAY + 2 * S)).toMatchObject([
      { type: 'clear', rule: 'gateway.pressure', device: GW },
    ]);
    // Nothing open any more: later statuses clear nothing.
    expect(en.feed({ kind: 'gateway', estate: E, gateway: GW, online: true, pressure: false }, DAY + 3 * S)).toEqual([]);
  });
});

describe('plate.blocklisted', () => {
  it('raises for vehicle.denied reason blocklist and for any vehicle event on the block list', () => {
    const en = new Engine();
    const denied = ev('vehicle.denied', { plate: '苏A12345', list: 'other', reason: 'blocklist', lane: 1, snapshots: [SHA] }, { device: 'barrier-1' });
    expect(en.event(denied)).toMatchObject([{ rule: 'plate.blocklisted', key: 'lane:1', severity: 3, snapshots: [SHA], data: { plate: '苏A12345' } }]);
    expect(en.event(ev('vehicle.entered', { plate: '苏B99999', list: 'block' }, { device: 'barrier-1' }))).toMatchObject([{ rule: 'plate.blocklisted' }]);
    expect(en.event(ev('vehicle.denied', { plate: '苏C11111', list: 'other', reason: 'not-allowed' }, { device: 'barrier-1' }))).toEqual([]);
    expect(en.event(ev('vehicle.entered', { plate: '苏D22222', list: 'allow' }, { device: 'barrier-1' }))).toEqual([]);
  });
});

describe('vehicle.overstay', () => {
  const enter = (plate: string, list = 'other', ts = DAY) => ev('vehicle.entered', { plate, list, lane: 1 }, { device: 'barrier-in', ts });
  const exit = (plate: string, ts: number) => ev('vehicle.exited', { plate, list: 'other' }, { device: 'barrier-out', ts });

  it('raises severity 1 for a visitor still in after 4 h, keyed without the plate, and clears on its exit', () => {
    const en = new Engine({ clearAfterS: 0 });
    const entered = enter('苏A12345');
    en.event(entered);
    expect(en.wakeAt).toBe(DAY + 240 * MIN);
    expect(en.runUntil(DAY + 240 * MIN - 1)).toEqual([]);
    const [a] = en.runUntil(DAY + 240 * MIN) as RaiseAction[];
    expect(a).toMatchObject({ rule: 'vehicle.overstay', device: 'barrier-in', key: plateKey('苏A12345'), severity: 1, eventId: entered.id, data: { plate: '苏A12345', minutes: 240, lane: 1 } });
    expect(a!.key).not.toContain('12345');
    expect(en.event(exit('苏A12345', DAY + 300 * MIN))).toMatchObject([{ type: 'clear', rule: 'vehicle.overstay', device: 'barrier-in', key: plateKey('苏A12345') }]);
  });

  it('does not raise for a visitor who leaves in time, nor for residents; honours overstayMinutes', () => {
    const en = new Engine({ rules: { 'vehicle.overstay': { overstayMinutes: 30 } } });
    en.event(enter('苏A12345'));
    en.event(exit('苏A12345', DAY + 29 * MIN));
    en.event(enter('苏B54321', 'allow'));
    expect(en.wakeAt).toBeNull();
    en.event(enter('苏C00001', 'other', DAY + 60 * MIN));
    expect(en.runUntil(DAY + 90 * MIN)).toMatchObject([{ rule: 'vehicle.overstay', data: { minutes: 30 } }]);
  });

  it('ignores vehicles without a plate read', () => {
    const en = new Engine();
    en.event(ev('vehicle.entered', { list: 'other' }, { device: 'barrier-in' }));
    expect(en.wakeAt).toBeNull();
  });
});

describe('camera.offline', () => {
  const dev = (online: boolean, since: number, over: Record<string, unknown> = {}) =>
    ({ kind: 'device', estate: E, gateway: GW, device: 'cam-1', deviceKind: 'onvif-camera', online, since, ...over }) as const;

  it('raises when a camera stays offline 60 s (from the declared since) and clears when it is back', () => {
    const en = new Engine({ clearAfterS: 0 });
    en.feed(dev(false, DAY), DAY + 5 * S);
    expect(en.wakeAt).toBe(DAY + 60 * S);
    expect(en.runUntil(DAY + 60 * S)).toMatchObject([{ rule: 'camera.offline', device: 'cam-1', key: '', severity: 2, data: { offlineS: 60 } }]);
    expect(en.feed(dev(true, DAY + 100 * S), DAY + 100 * S)).toMatchObject([{ type: 'clear', rule: 'camera.offline' }]);
  });

  it('does not raise for a camera back within 60 s, nor for a device that is not a camera', () => {
    const en = new Engine();
    en.feed(dev(false, DAY), DAY);
    en.feed(dev(true, DAY + 59 * S), DAY + 59 * S);
    en.feed(dev(false, DAY, { device: 'gate-1', deviceKind: 'access-gate' }), DAY);
    en.feed(dev(false, DAY, { device: 'gate-2', deviceKind: undefined }), DAY);
    en.runUntil(DAY + 3600 * S);
    expect(en.raises()).toEqual([]);
  });

  it('knows a camera from its camera events when the input has no kind', () => {
    const en = new Engine();
    en.event(ev('camera.motion', { state: true }, { device: 'cam-2' }));
    en.feed(dev(false, DAY, { device: 'cam-2', deviceKind: undefined }), DAY);
    expect(en.runUntil(DAY + 60 * S)).toMatchObject([{ rule: 'camera.offline', device: 'cam-2' }]);
  });

  it('a camera flapping after its alert keeps the same alert instead of clearing and reopening', () => {
    const en = new Engine(); // clearAfterS 30
    en.feed(dev(false, DAY), DAY);
    en.runUntil(DAY + 60 * S);
    en.feed(dev(true, DAY + 70 * S), DAY + 70 * S);
    en.feed(dev(false, DAY + 80 * S), DAY + 80 * S);
    en.runUntil(DAY + 3600 * S);
    expect(en.raises()).toHaveLength(1);
    expect(en.clears()).toEqual([]);
  });

  it('a camera still offline when its maintenance window ends raises then', () => {
    const en = new Engine({ maintenance: [{ device: 'cam-1', from: DAY, to: DAY + 3600 * S }] });
    en.feed(dev(false, DAY + 10 * S), DAY + 10 * S);
    expect(en.runUntil(DAY + 3599 * S)).toEqual([]);
    expect(en.runUntil(DAY + 3600 * S)).toMatchObject([{ rule: 'camera.offline', at: DAY + 3600 * S }]);
  });
});

describe('gateway.offline', () => {
  const gw = (online: boolean) => ({ kind: 'gateway', estate: E, gateway: GW, online }) as const;

  it('raises severity 3 after 90 s offline, clears when it is back', () => {
    const en = new Engine({ clearAfterS: 0 });
    en.feed(gw(false), DAY);
    en.feed(gw(false), DAY + 30 * S); // repeated offline statuses do not restart the timer
    expect(en.runUntil(DAY + 89 * S)).toEqual([]);
    expect(en.runUntil(DAY + 90 * S)).toMatchObject([{ rule: 'gateway.offline', device: GW, gateway: GW, severity: 3 }]);
    expect(en.feed(gw(true), DAY + 200 * S)).toMatchObject([{ type: 'clear', rule: 'gateway.offline', device: GW }]);
  });

  it('does not raise for a gateway back within 90 s', () => {
    const en = new Engine();
    en.feed(gw(false), DAY);
    en.feed(gw(true), DAY + 89 * S);
    en.runUntil(DAY + 3600 * S);
    expect(en.actions).toEqual([]);
  });
});

describe('motion.night', () => {
  const zones = [{ device: 'cam-1', rule: 'north-fence' }, { device: 'cam-2' }];
  const motion = (device: string, rule: string | undefined, state = true) =>
    ev('camera.motion', { state, ...(rule ? { rule } : {}), snapshots: [SHA] }, { device });

  it('raises for motion in a configured zone between 22:00 and 06:00 Shanghai time', () => {
    const en = new Engine({ rules: { 'motion.night': { zones } } });
    const night = sh(2026, 3, 11, 0, 30);
    expect(en.event(motion('cam-1', 'north-fence'), night)).toMatchObject([{ rule: 'motion.night', key: 'zone:north-fence', severity: 2, snapshots: [SHA] }]);
    expect(en.event(motion('cam-1', 'gate'), night)).toEqual([]); // another zone of that camera
    expect(en.event(motion('cam-2', 'any'), night)).toMatchObject([{ key: 'zone:any' }]); // every zone of cam-2
    expect(en.event(motion('cam-3', 'north-fence'), night)).toEqual([]);
    expect(en.event(motion('cam-1', 'north-fence', false), night)).toEqual([]);
    expect(en.event(motion('cam-1', 'north-fence'), sh(2026, 3, 10, 21, 59))).toEqual([]);
    expect(en.event(motion('cam-1', 'north-fence'), sh(2026, 3, 11, 6, 0))).toEqual([]);
    expect(en.event(motion('cam-1', 'north-fence'), sh(2026, 3, 10, 22, 0))).toHaveLength(1);
  });

  it('watches nothing with the default empty zone list', () => {
    expect(new Engine().event(motion('cam-1', 'north-fence'), sh(2026, 3, 11, 1))).toEqual([]);
  });
});

describe('remembered alerts', () => {
  it('only alerts that can auto-resolve are remembered', () => {
    const en = new Engine();
    en.event(ev('barrier.fault', { reason: 'x' }, { device: 'barrier-1' }));
    en.event(ev('door.forced', { door: 1 }));
    expect(Object.values(en.memory.estates[E]!.active).map((a) => a.rule)).toEqual(['door.forced']);
  });
});

describe('device.attention', () => {
  const dev = (over: Record<string, unknown> = {}) =>
    ({ kind: 'device', estate: E, gateway: GW, device: 'cam-1', deviceKind: 'onvif-camera', online: false, since: DAY, ...over }) as const;

  it('raises once for a camera refusing the credentials, not camera.offline, and clears when the login works', () => {
    const en = new Engine({ clearAfterS: 0 });
    expect(en.feed(dev({ condition: 'auth-failed' }), DAY)).toMatchObject([
      { type: 'raise', rule: 'device.attention', device: 'cam-1', key: 'auth-failed', severity: 1, data: { problem: 'auth-failed', kind: 'onvif-camera' } },
    ]);
    // The same input again (a status heartbeat) is the same episode.
    expect(en.feed(dev({ condition: 'auth-failed' }), DAY + 30 * S)).toEqual([]);
    en.runUntil(DAY + 3600 * S);
    expect(en.raises().map((a) => a.rule)).toEqual(['device.attention']);
    expect(en.feed(dev({ online: true }), DAY + 3601 * S)).toMatchObject([{ type: 'clear', rule: 'device.attention', key: 'auth-failed' }]);
  });

  it('raises for a pull-early warning on an online camera, one alert per problem, and clears with the warning', () => {
    const en = new Engine({ clearAfterS: 0 });
    expect(en.feed(dev({ online: true, warnings: ['pull-early'] }), DAY)).toMatchObject([{ rule: 'device.attention', key: 'pull-early' }]);
    expect(en.feed(dev({ online: true, warnings: ['pull-early'], condition: 'auth-failed' }), DAY + S)).toMatchObject([{ rule: 'device.attention', key: 'auth-failed' }]);
    const cleared = en.feed(dev({ online: true }), DAY + 2 * S);
    expect(cleared.map((a) => [a.type, a.key]).sort()).toEqual([['clear', 'auth-failed'], ['clear', 'pull-early']]);
  });

  it('an access gate in auth-failed raises it too; switched off, nothing', () => {
    expect(new Engine().feed(dev({ device: 'gate-1', deviceKind: 'access-gate', condition: 'auth-failed' }), DAY)).toMatchObject([{ rule: 'device.attention', device: 'gate-1' }]);
    expect(new Engine({ rules: { 'device.attention': { enabled: false } } }).feed(dev({ condition: 'auth-failed' }), DAY)).toEqual([]);
  });
});
