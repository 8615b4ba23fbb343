import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../../gateway/config.js';
import { backoffDelay, hubServers } from '../../gateway/uplink.js';

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

describe('several hub URLs (hub.url with commas)', () => {
  it('become mqtt.js servers in the order given, default ports filled in; one URL stays one', () => {
    expect(hubServers('mqtt://127.0.0.1:1883')).toBeUndefined();
    expect(hubServers('mqtt://hub-a:1884, mqtts://hub-b,tcp://[::1]:1999,tls://hub-c')).toEqual([
      { host: 'hub-a', port: 1884, protocol: 'mqtt' },
      { host: 'hub-b', port: 8883, protocol: 'mqtts' },
      { host: '::1', port: 1999, protocol: 'mqtt' },
      { host: 'hub-c', port: 8883, protocol: 'mqtts' },
    ]);
  });

  it('are accepted by the gateway config, and a malformed list is refused with its key', () => {
    const base = { estate: 'e-1', gateway: 'gw-1', privacy: { salt: 'salt-0123456789abcdef' }, devices: [{ id: 'gate-1', driver: 'hikvision-isapi' }] };
    const hub = (url: string) => ({ ...base, hub: { url, username: 'u', password: 'p' } });
    expect(GatewayConfigSchema.safeParse(hub('mqtt://a:1883,mqtt://b:1883')).success).toBe(true);
    expect(GatewayConfigSchema.safeParse(hub('mqtt://a:1883')).success).toBe(true);
    for (const bad of ['mqtt://a:1883,', 'mqtt://a:1883,http://b', 'mqtt://a b']) {
      const r = GatewayConfigSchema.safeParse(hub(bad));
      expect(r.success, bad).toBe(false);
      expect(r.error!.issues[0]!.path.join('.')).toBe('hub.url');
    }
  });
});
