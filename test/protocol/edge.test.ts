import { describe, expect, it } from 'vitest';
import { DutyList, dutyRecipients, edgeRule, isEnvelopeFast, validateEvent } from '../../protocol/index.js';
import { makeEvent } from '../support/hub.js';

describe('edge rules (protocol/edge.ts)', () => {
  it('trips on the critical events the hub raises, and only on them', () => {
    expect(edgeRule({ type: 'door.forced', data: { door: 1 } })).toBe('door.forced');
    expect(edgeRule({ type: 'device.tamper', data: {} })).toBe('device.tamper');
    expect(edgeRule({ type: 'camera.tamper', data: { state: true } })).toBe('device.tamper');
    expect(edgeRule({ type: 'camera.tamper', data: { state: false } })).toBeNull();
    expect(edgeRule({ type: 'vehicle.entered', data: { list: 'block' } })).toBe('plate.blocklisted');
    expect(edgeRule({ type: 'vehicle.denied', data: { list: 'other', reason: 'blocklist' } })).toBe('plate.blocklisted');
    expect(edgeRule({ type: 'vehicle.denied', data: { list: 'other', reason: 'not-allowed' } })).toBeNull();
    expect(edgeRule({ type: 'vehicle.entered', data: { list: 'allow' } })).toBeNull();
    for (const type of ['door.held', 'door.opened', 'access.denied', 'camera.motion', 'gateway.outbox.pressure']) expect(edgeRule({ type, data: {} })).toBeNull();
  });

  it('texts those on duty, else the standby people', () => {
    const list = DutyList.parse({
      estate: 'elm',
      issuedAt: 0,
      people: [
        { userId: 'a', name: 'A', phone: '13800138000', duty: [{ from: 100, to: 200 }] },
        { userId: 'b', name: 'B', phone: '+8613900139000', duty: [{ from: 150, to: 300 }] },
        { userId: 'c', name: 'C', phone: '13700137000', standby: true },
      ],
    });
    expect(dutyRecipients(list, 160).map((p) => p.userId)).toEqual(['a', 'b']);
    expect(dutyRecipients(list, 200).map((p) => p.userId)).toEqual(['b']);
    expect(dutyRecipients(list, 300).map((p) => p.userId)).toEqual(['c']);
    expect(list.timeZone).toBe('Asia/Shanghai');
    expect(() => DutyList.parse({ estate: 'elm', issuedAt: 0, people: [{ userId: 'a', name: 'A', phone: '138-0013' }] })).toThrow(/phone/);
    expect(() => DutyList.parse({ estate: 'elm', issuedAt: 0, people: [{ userId: 'a', name: 'A', phone: '138', duty: [{ from: 5, to: 5 }] }] })).toThrow(/after/);
  });
});

describe('the envelope\'s optional edge notice', () => {
  const edge = { notifiedAt: 1_795_777_327_501, channel: 'gammu', rule: 'door.forced', to: ['u-wang'] };

  it('is kept by validation (the fast check leaves it to zod), and a plain event is unchanged', () => {
    const plain = makeEvent({ type: 'door.forced', data: { door: 1 } });
    expect(isEnvelopeFast(plain)).toBe(true);
    const v1 = validateEvent(plain);
    expect(v1.ok && 'edge' in v1.event).toBe(false);
    const marked = { ...plain, edge };
    expect(isEnvelopeFast(marked)).toBe(false);
    const v2 = validateEvent(marked);
    expect(v2.ok).toBe(true);
    expect(v2.ok && v2.event.edge).toEqual(edge);
  });

  it('refuses a malformed notice', () => {
    const plain = makeEvent({ type: 'door.forced', data: { door: 1 } });
    for (const bad of [{ ...edge, channel: 'sms' }, { ...edge, rule: 'door.held' }, { ...edge, to: 'u-wang' }, { ...edge, extra: 1 }, { ...edge, notifiedAt: -1 }]) {
      const v = validateEvent({ ...plain, edge: bad });
      expect(v.ok, JSON.stringify(bad)).toBe(false);
    }
  });
});
