import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { fastObserver } from '../../hub/metrics-fast.js';

/** The same observations through prom-client's observe and through fastObserver read the same on /metrics. */
describe('fastObserver', () => {
  const values = [0, 0.00001, 0.00002, 0.0001, 0.0004, 0.001, 0.003, 0.01, 0.5, 2, 7, 1e9];
  const make = () => {
    const registry = new Registry();
    const unlabelled = new Histogram({ name: 'h_plain', help: 'h', buckets: [0.0001, 0.001, 0.01, 1], registers: [registry] });
    const labelled = new Histogram({ name: 'h_stage', help: 'h', labelNames: ['stage'] as const, buckets: [0.0001, 0.001, 0.01, 1], registers: [registry] });
    return { registry, unlabelled, labelled };
  };

  it('adds to the series exactly as observe does, unlabelled and labelled, also after a reset', async () => {
    const slow = make();
    const fast = make();
    const plain = fastObserver(fast.unlabelled);
    const validate = fastObserver(fast.labelled, { stage: 'validate' });
    const store = fastObserver(fast.labelled, { stage: 'store' });
    for (const v of values) {
      slow.unlabelled.observe(v);
      slow.labelled.labels('validate').observe(v);
      slow.labelled.labels('store').observe(v * 2);
      plain(v);
      validate(v);
      store(v * 2);
    }
    const text = await fast.registry.metrics();
    expect(text).toBe(await slow.registry.metrics());
    expect(text).toContain('h_plain_count 12');
    expect(text).toContain('h_stage_bucket{le="0.001",stage="validate"} 6');

    slow.registry.resetMetrics();
    fast.registry.resetMetrics();
    for (const v of values.slice(0, 5)) {
      slow.unlabelled.observe(v);
      slow.labelled.labels('validate').observe(v);
      plain(v);
      validate(v);
    }
    expect(await fast.registry.metrics()).toBe(await slow.registry.metrics());
  });

  it('leaves a value that is not finite to prom-client (which refuses it)', () => {
    const { unlabelled } = make();
    const plain = fastObserver(unlabelled);
    plain(0.001);
    expect(() => plain(Number.NaN)).toThrow(/not a valid number/);
  });
});
