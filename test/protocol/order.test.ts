import { describe, expect, it } from 'vitest';
import { EPOCH_GAP_MS, isOlder, markOf } from '../../protocol/order.js';

const T = Date.UTC(2026, 2, 10, 2);
const at = (seq: number, ts = T, gateway = 'gw-1') => ({ gateway, seq, ts });

describe('isOlder: one device\'s events in its gateway\'s order', () => {
  it('a lower seq of the same gateway is older, whatever the device time within the gap', () => {
    const mark = markOf(at(10));
    expect(isOlder(mark, at(9))).toBe(true);
    expect(isOlder(mark, at(9, T - 60_000))).toBe(true);
    expect(isOlder(mark, at(9, T + EPOCH_GAP_MS))).toBe(true);
  });

  it('a higher or equal seq is not older, even with an older device time', () => {
    expect(isOlder(at(10), at(11, T - 3_600_000))).toBe(false);
    expect(isOlder(at(10), at(10))).toBe(false);
  });

  it('nothing remembered, or another gateway: not comparable, not older', () => {
    expect(isOlder(undefined, at(1))).toBe(false);
    expect(isOlder(at(10), at(1, T, 'gw-2'))).toBe(false);
  });

  it('a lower seq with a device time more than EPOCH_GAP_MS newer starts a new epoch (data dir wiped)', () => {
    expect(isOlder(at(50_000), at(1, T + EPOCH_GAP_MS + 1))).toBe(false);
  });

  it('markOf keeps only what the comparison needs', () => {
    expect(markOf({ ...at(3), ...{ id: 'x', type: 'door.closed' } } as ReturnType<typeof at>)).toEqual(at(3));
  });
});
