import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryOutbox, type AppendResult, type OutboxStats } from '../../gateway/outbox.js';
import { createPressureMonitor } from '../../gateway/pressure.js';
import { silentLogger } from '../../lib/log.js';

/** A monitor over an outbox whose drop counter the test sets; delivery of each event is in the test's hands. */
function harness() {
  const stats: OutboxStats = { ...createMemoryOutbox({ maxRecords: 100 }).stats(), depth: 100 };
  const outbox = { ...createMemoryOutbox(), stats: () => ({ ...stats }) };
  const sent: Array<{ droppedTotal: number; deliver: () => void }> = [];
  const changes: boolean[] = [];
  const monitor = createPressureMonitor({
    outbox,
    log: silentLogger() as never,
    emit: async (data) => {
      let deliver!: () => void;
      const delivered = new Promise<void>((r) => (deliver = r));
      sent.push({ droppedTotal: data.droppedTotal, deliver });
      return { delivered };
    },
    onChange: (active) => void changes.push(active),
    repeatMs: 60_000,
    quietMs: 30_000,
  });
  const drop = (n: number): void => {
    stats.droppedTotal += n;
    stats.droppedSinceStart += n;
    monitor.observe({ stored: true, evicted: n } satisfies AppendResult);
  };
  return { monitor, sent, changes, drop };
}

describe('outbox pressure events', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('reports at the first drop, then the true count when the drops have stopped; the end waits for the hub', async () => {
    const h = harness();
    h.drop(1);
    expect(h.sent.map((s) => s.droppedTotal)).toEqual([1]);
    expect(h.changes).toEqual([true]);
    for (let i = 0; i < 900; i++) {
      vi.advanceTimersByTime(10);
      h.drop(1); // a burst: 900 more within 9 s, no event of its own
    }
    expect(h.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.sent.map((s) => s.droppedTotal)).toEqual([1, 901]);
    // Still active until the hub has the closing event: its status must not say "over" first.
    expect(h.monitor.active()).toBe(true);
    expect(h.changes).toEqual([true]);
    h.sent[1]!.deliver();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.monitor.active()).toBe(false);
    expect(h.changes).toEqual([true, false]);
    h.monitor.stop();
  });

  it('repeats at most every repeatMs while drops go on; ends without a closing event when nothing was dropped since', async () => {
    const h = harness();
    for (let t = 0; t < 130; t++) {
      h.drop(10);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(h.sent.map((s) => s.droppedTotal)).toEqual([10, 610, 1210]); // at 0 s, 60 s, 120 s
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sent.at(-1)!.droppedTotal).toBe(1300); // the closing one
    h.sent.at(-1)!.deliver();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.monitor.active()).toBe(false);

    const q = harness();
    q.drop(5);
    q.sent[0]!.deliver();
    await vi.advanceTimersByTimeAsync(31_000);
    expect(q.sent).toHaveLength(1); // the first event already had the true count
    expect(q.changes).toEqual([true, false]);
  });

  it('drops that resume while the closing event waits for the hub keep the pressure on', async () => {
    const h = harness();
    h.drop(3);
    await vi.advanceTimersByTimeAsync(10_000);
    h.drop(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.sent.map((s) => s.droppedTotal)).toEqual([3, 5]); // the closing event, not yet at the hub
    await vi.advanceTimersByTimeAsync(1_000);
    h.drop(4); // the uplink is still down and routine traffic goes on
    h.sent[1]!.deliver();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.monitor.active()).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.sent.map((s) => s.droppedTotal)).toEqual([3, 5, 9]);
    h.sent[2]!.deliver();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.monitor.active()).toBe(false);
    expect(h.changes).toEqual([true, false]);
  });
});
