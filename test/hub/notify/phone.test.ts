import { describe, expect, it } from 'vitest';
import { maskAddress, maskPhoneForLog, normalisePhone, phoneKey } from '../../../hub/notify/phone.js';

describe('phone numbers of contact points', () => {
  it('normalises mainland mobiles and E.164 numbers; refuses the rest', () => {
    for (const s of ['13812345678', '138 1234 5678', '138-1234-5678', '+86 138 1234 5678', '+8613812345678', '008613812345678', '8613812345678', '(+86) 13812345678', '１３８ １２３４ ５６７８', '＋86 13812345678']) {
      expect(normalisePhone(s), s).toBe('+8613812345678');
    }
    expect(normalisePhone('+44 7700 900123')).toBe('+447700900123');
    expect(normalisePhone('00447700900123')).toBe('+447700900123');
    expect(normalisePhone('+852 6123 4567')).toBe('+85261234567');
    for (const s of ['', '110', '12812345678', '1381234567', '138123456789', '+86 10 6552 9988', '010-65529988', '447700900123', '+0123456789', '13812345678+', '1+3812345678', '138a1234567', '+1234567890123456', '+86+13812345678', '1'.repeat(41)]) {
      expect(normalisePhone(s), s).toBeUndefined();
    }
  });

  it('keys numbers by digits so a reply matches however it was spelled', () => {
    expect(phoneKey('+86 138 1234 5678')).toBe('8613812345678');
    expect(phoneKey('13812345678')).toBe(phoneKey('008613812345678'));
    expect(phoneKey('13812345679')).not.toBe(phoneKey('13812345678'));
    expect(phoneKey('nonsense')).toBeUndefined();
  });

  it('masks the middle of addresses', () => {
    expect(maskAddress('phone', '+8613812345678')).toBe('138****5678');
    expect(maskAddress('phone', '+447700900123')).toBe('+44******0123');
    expect(maskAddress('wecom-user', 'ZhangSan')).toBe('Zh*****n');
    expect(maskAddress('wecom-user', 'ab')).toBe('**');
    expect(maskPhoneForLog('008613812345678')).toBe('138****5678');
    expect(maskPhoneForLog('<script>')).toBe('[not a number]');
  });
});
