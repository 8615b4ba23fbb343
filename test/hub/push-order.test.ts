import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PushEnvelope } from '../../hub/push/log.js';
import { createScopeOrder } from '../../hub/push/order.js';

const env = (seq: number, scope = 'estate:a'): PushEnvelope => ({ scope, seq, at: seq, event: 'event', data: { seq } });

/** The per-scope sequencer of live push on one node (hub/push/order.ts), with a push log in memory whose reads the test releases. */
function setup(opts: { listening?: boolean } = {}) {
  const emitted: number[] = [];
  const reads: Array<{ args: [string, number, number, number | undefined]; release: () => void }> = [];
  const log = new Map<number, PushEnvelope>();
  const order = createScopeOrder({
    emit: (e) => emitted.push(e.seq),
    listening: () => opts.listening ?? true,
    read: (scope, after, limit, before) =>
      new Promise((resolve) => {
        reads.push({
          args: [scope, after, limit, before],
          release: () => resolve([...log.values()].filter((e) => e.seq > after && (before === undefined || e.seq < before)).sort((a, b) => a.seq - b.seq).slice(0, limit)),
        });
      }),
    log: pino({ level: 'silent' }),
  });
  const commit = (...seqs: number[]) => seqs.forEach((s) => log.set(s, env(s)));
  return { order, emitted, reads, commit };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('push order: each scope emitted once, in sequence, on one node', () => {
  it('passes envelopes in order straight through and drops repeats', () => {
    const { order, emitted, reads } = setup();
    for (const s of [4, 5, 6, 5, 6, 3]) order.accept(env(s));
    expect(emitted).toEqual([4, 5, 6]);
    expect(reads).toHaveLength(0);
    expect(order.stats()).toMatchObject({ dropped: 3 });
  });

  it('reads a gap back from the log, then emits what waited behind it; late copies are dropped', async () => {
    const { order, emitted, reads, commit } = setup();
    commit(1, 2, 3, 4, 5);
    order.accept(env(1));
    order.accept(env(4));
    order.accept(env(5));
    expect(emitted).toEqual([1]);
    expect(reads.map((r) => r.args)).toEqual([['estate:a', 1, 2, 4]]);
    reads[0]!.release();
    await tick();
    expect(emitted).toEqual([1, 2, 3, 4, 5]);
    order.accept(env(2));
    order.accept(env(3));
    order.accept(env(6));
    expect(emitted).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('late copies that fill the gap while its read is in flight: emitted once, and the scope goes on', async () => {
    const { order, emitted, reads, commit } = setup();
    commit(1, 2, 3, 4);
    order.accept(env(1));
    order.accept(env(4));
    expect(reads).toHaveLength(1);
    order.accept(env(2));
    order.accept(env(3)); // the Redis copies came after all
    expect(emitted).toEqual([1, 2, 3, 4]);
    reads[0]!.release();
    await tick();
    order.accept(env(5));
    order.accept(env(6));
    expect(emitted).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a gap the log no longer has is skipped (the sockets see it); a scope nobody here shows is not read', async () => {
    const { order, emitted, reads, commit } = setup();
    commit(1, 3);
    order.accept(env(1));
    order.accept(env(3));
    reads[0]!.release();
    await tick();
    expect(emitted).toEqual([1, 3]);
    expect(order.stats().skipped).toBe(1);

    const quiet = setup({ listening: false });
    quiet.order.accept(env(1));
    quiet.order.accept(env(7));
    expect(quiet.emitted).toEqual([1, 7]);
    expect(quiet.reads).toHaveLength(0);
  });

  it('catch-up reads what a listened scope missed (Redis was away) and emits it in order', async () => {
    const { order, emitted, reads, commit } = setup();
    order.accept(env(1));
    commit(2, 3);
    const done = order.catchUp();
    await tick();
    reads[0]!.release();
    expect(await done).toBe(2);
    expect(emitted).toEqual([1, 2, 3]);
    order.seed('user:u', 9);
    order.accept(env(10, 'user:u'));
    expect(emitted).toEqual([1, 2, 3, 10]);
  });
});
