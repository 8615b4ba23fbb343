import { describe, expect, it } from 'vitest';
import { maskForRole, maskPlate, reduceName } from '../../../hub/alerts/privacy.js';

/** Letters and digits a masked plate still shows (the province character names a province, not a car). */
const revealed = (masked: string): number => Array.from(masked).filter((c) => /[A-Z0-9\p{Script=Han}]/u.test(c)).length - (/^\p{Script=Han}/u.test(masked) ? 1 : 0);

describe('maskPlate', () => {
  it.each([
    ['苏A12345', '苏A·1**45'],
    ['苏A·12345', '苏A·1**45'],
    ['粤BD12345', '粤B·D***45'], // new-energy, 8 characters
    ['京AF1234X', '京A·F***4X'],
    ['粤B1234学', '粤B·1**4学'],
    ['苏A1234', '苏A·1**4'],
    ['苏A123', '苏A·**3'],
    ['苏A12', '苏A·**'],
    ['苏A', '苏A·'],
    ['WJ12345', 'W****45'], // no province prefix: masked as a serial
    ['AB', '**'],
    ['', ''],
  ])('%s → %s', (plate, masked) => {
    expect(maskPlate(plate)).toBe(masked);
  });

  it('never shows more than 4 letters or digits, and always hides at least 2 characters of the serial', () => {
    for (const p of ['苏A12345', '粤BD12345', '粤BDF12345', 'A1234567890', '苏A1', '港12345', '使123456']) {
      const m = maskPlate(p);
      expect(revealed(m), `${p} → ${m}`).toBeLessThanOrEqual(4);
      if (p.length > 2) expect(m).toContain('*');
    }
  });
});

describe('reduceName', () => {
  it.each([
    ['张三丰', '张**'],
    ['张三', '张*'],
    ['欧阳娜娜', '欧***'],
    ['Alexander Hamilton', 'A***'],
    ['  李四 ', '李*'],
    ['张', '*'],
    ['', ''],
  ])('%s → %s', (name, reduced) => {
    expect(reduceName(name)).toBe(reduced);
  });
});

describe('maskForRole', () => {
  const hash = 'abcdef0123456789abcdef0123456789';
  const alert = {
    id: 'A1',
    rule: 'plate.blocklisted',
    data: { type: 'vehicle.denied', plate: '苏A12345', lane: 1, nested: [{ plate: '粤BD12345', person: hash }] },
    events: [{ type: 'access.denied', data: { credential: hash, person: hash, door: 1 } }],
    plates: ['苏A12345', '苏B54321'],
  };

  it('masks plates and shortens person/credential hashes for volunteers and patrols, anywhere in the value', () => {
    for (const role of ['volunteer', 'patrol', 'someone-new']) {
      const m = maskForRole(role, alert);
      expect(m.data.plate).toBe('苏A·1**45');
      expect(m.data.nested[0]).toEqual({ plate: '粤B·D***45', person: 'abcdef…' });
      expect(m.events[0]!.data).toEqual({ credential: 'abcdef…', person: 'abcdef…', door: 1 });
      expect(m.plates).toEqual(['苏A·1**45', '苏B·5**21']);
      expect(m.data.lane).toBe(1);
      expect(JSON.stringify(m)).not.toContain('12345');
    }
    expect(alert.data.plate).toBe('苏A12345'); // input untouched
  });

  it('gives center and admin the full values', () => {
    expect(maskForRole('center', alert)).toBe(alert);
    expect(maskForRole('admin', alert)).toEqual(alert);
  });

  it('passes scalars and nulls through, and drops what is nested absurdly deep', () => {
    expect(maskForRole('volunteer', null)).toBeNull();
    expect(maskForRole('volunteer', 'x')).toBe('x');
    let deep: Record<string, unknown> = { plate: '苏A12345' };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(JSON.stringify(maskForRole('volunteer', deep))).not.toContain('12345');
  });

  it('reduces the names of people on an alert view for volunteers and patrols, not for the center', () => {
    const view = { id: 'x', acknowledgedByName: '张三丰', resolvedByName: '李四', assigneeName: 'Wang', data: { name: 'kept: not a person field' } };
    expect(maskForRole('volunteer', view)).toEqual({ id: 'x', acknowledgedByName: '张**', resolvedByName: '李*', assigneeName: 'W***', data: { name: 'kept: not a person field' } });
    expect(maskForRole('patrol', view).acknowledgedByName).toBe('张**');
    expect(maskForRole('center', view)).toBe(view);
  });
});
