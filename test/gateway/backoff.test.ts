import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../gateway/uplink.js';

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap', () => {
    const top = (n: number) => backoffDelay(n, 500, 30_000, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(top(1000)).toBe(30_000);
    expect(backoffDelay(5, 500, 30_000, () => 0)).toBe(250);
  });

  it('spreads 500 gateways that lost the hub together over the window (no stampede)', () => {
    const delays = Array.from({ length: 500 }, () => backoffDelay(5, 500, 30_000));
    // Count reconnects per 1-second bucket: with full jitter no second gets more than a few percent.
    const buckets = new Map<number, number>();
    for (const d of delays) buckets.set(Math.floor(d / 1000), (buckets.get(Math.floor(d / 1000)) ?? 0) + 1);
    expect(Math.max(...buckets.values())).toBeLessThan(60); // uniform would be ~31 per second over 16 s
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(250);
    expect(Math.max(...delays)).toBeLessThanOrEqual(16_000);
    expect(buckets.size).toBeGreaterThanOrEqual(14);
  });
});
