import { afterEach, describe, expect, it } from 'vitest';
import type { AppendResult, Outbox } from '../../../gateway/outbox.js';
import { validateEvent, type RbEvent } from '../../../protocol/index.js';
import { makeEvent, sizeOf } from './fixtures/events.js';

export { makeEvent, sizeOf, T0 } from './fixtures/events.js';

/**
 * The conformance suite every Outbox runs (STYLE.md §4): the in-memory reference and the SQLite outbox
 * must behave the same behind gateway/outbox.ts. The persistence tests run only when the factory
 * gives `reopen`.
 */
export interface OutboxUnderTest {
  /** An outbox over empty storage, not started yet: the suite calls start() and stop(). */
  outbox: Outbox;
  /** A new, not started outbox over the same storage and options (persistent implementations). */
  reopen?: () => Promise<Outbox>;
  /** Remove whatever storage the outbox used. */
  cleanup(): Promise<void>;
}

export type OutboxFactory = (opts: { maxRecords?: number; maxBytes?: number }) => Promise<OutboxUnderTest>;

const ZERO = { alarm: 0, routine: 0 };
const ALL = 1_000_000;

export function describeOutbox(name: string, factory: OutboxFactory, kind: { persistent: boolean } = { persistent: false }): void {
  describe(`Outbox contract: ${name}`, () => {
    const started: Outbox[] = [];
    const cleanups: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const o of started.splice(0).reverse()) await o.stop();
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function open(opts: { maxRecords?: number; maxBytes?: number } = {}) {
      const under = await factory(opts);
      cleanups.push(() => under.cleanup());
      await under.outbox.start();
      started.push(under.outbox);
      return under;
    }

    /** Stop `outbox`, open the storage again, start it. */
    async function reopened(under: OutboxUnderTest, outbox: Outbox): Promise<Outbox> {
      await outbox.stop();
      const next = await under.reopen!();
      await next.start();
      started.push(next);
      return next;
    }

    async function add(outbox: Outbox, kind: 'alarm' | 'routine' = 'routine', device?: string) {
      const event = makeEvent(outbox.nextSeq(), kind, device);
      return { event, result: await outbox.append(event) };
    }

    it('fixtures are valid protocol events', () => {
      for (const kind of ['alarm', 'routine'] as const) expect(validateEvent(makeEvent(1, kind)).ok).toBe(true);
    });

    it('hands out strictly increasing seqs', async () => {
      const { outbox } = await open();
      const seqs = Array.from({ length: 2_500 }, () => outbox.nextSeq());
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    });

    it('reads back what was appended, equal, alarms first, each lane by seq', async () => {
      const { outbox } = await open();
      const kinds = ['routine', 'alarm', 'routine', 'routine', 'alarm', 'routine'] as const;
      const events: RbEvent[] = [];
      for (const kind of kinds) {
        const { event, result } = await add(outbox, kind);
        expect(result).toEqual({ stored: true, evicted: 0 });
        events.push(event);
      }
      const alarms = events.filter((_, i) => kinds[i] === 'alarm');
      const routine = events.filter((_, i) => kinds[i] === 'routine');
      expect(outbox.read(ZERO, ALL)).toEqual([...alarms, ...routine]);
    });

    it('keeps append order per device within each lane, also for appends of one tick', async () => {
      const { outbox } = await open();
      const devices = ['gate-a', 'gate-b', 'cam-1'];
      const events = Array.from({ length: 60 }, (_, i) =>
        makeEvent(outbox.nextSeq(), i % 7 === 3 ? 'alarm' : 'routine', devices[i % devices.length]),
      );
      const results = await Promise.all(events.map((e) => outbox.append(e)));
      expect(results.every((r) => r.stored)).toBe(true);
      const read = outbox.read(ZERO, ALL);
      expect(read).toHaveLength(events.length);
      for (const device of devices) {
        for (const alarm of [true, false]) {
          const pick = (list: RbEvent[]) => list.filter((e) => e.device === device && (e.type === 'door.forced') === alarm).map((e) => e.id);
          expect(pick(read)).toEqual(pick(events));
        }
      }
    });

    it('reads after the cursor in each lane and honours limit across lanes', async () => {
      const { outbox } = await open();
      const a = [await add(outbox, 'alarm'), await add(outbox, 'alarm'), await add(outbox, 'alarm')].map((x) => x.event);
      const r = [await add(outbox), await add(outbox), await add(outbox)].map((x) => x.event);
      expect(outbox.read({ alarm: a[1]!.seq, routine: r[0]!.seq }, ALL)).toEqual([a[2], r[1], r[2]]);
      expect(outbox.read(ZERO, 2)).toEqual([a[0], a[1]]);
      expect(outbox.read(ZERO, 4)).toEqual([...a, r[0]]);
      expect(outbox.read({ alarm: a[2]!.seq, routine: 0 }, 2)).toEqual([r[0], r[1]]);
      expect(outbox.read({ alarm: a[2]!.seq, routine: r[2]!.seq }, ALL)).toEqual([]);
      expect(outbox.read(ZERO, 0)).toEqual([]);
      // Reading does not consume: the same cursor gives the same answer.
      expect(outbox.read(ZERO, ALL)).toEqual([...a, ...r]);
    });

    it('ack removes exactly that event; unknown and repeated acks are no-ops', async () => {
      const { outbox } = await open();
      const e = [await add(outbox), await add(outbox, 'alarm'), await add(outbox)].map((x) => x.event);
      outbox.ack(e[2]!.seq);
      expect(outbox.read(ZERO, ALL)).toEqual([e[1], e[0]]);
      outbox.ack(e[1]!.seq);
      expect(outbox.stats()).toMatchObject({ depth: 1, alarms: 0, bytes: sizeOf(e[0]!) });
      outbox.ack(e[1]!.seq);
      outbox.ack(e[2]!.seq);
      outbox.ack(987_654_321);
      expect(outbox.read(ZERO, ALL)).toEqual([e[0]]);
      expect(outbox.stats()).toMatchObject({ depth: 1, alarms: 0, droppedTotal: 0 });
      // Acked events stay gone once the implementation has had a turn to write the deletes.
      await new Promise((resolve) => setImmediate(resolve));
      expect(outbox.read(ZERO, ALL)).toEqual([e[0]]);
    });

    it('at maxRecords evicts the oldest routine events and counts them', async () => {
      const { outbox } = await open({ maxRecords: 3 });
      const added = [];
      for (let i = 0; i < 5; i++) added.push(await add(outbox));
      expect(added.map((x) => x.result)).toEqual([0, 0, 0, 1, 1].map((evicted) => ({ stored: true, evicted })));
      expect(outbox.read(ZERO, ALL)).toEqual(added.slice(2).map((x) => x.event));
      expect(outbox.stats()).toMatchObject({ depth: 3, droppedTotal: 2, droppedSinceStart: 2, maxRecords: 3 });
    });

    it('an event evicted while the uplink has it counts as dropped only if it is not acknowledged', async () => {
      // Found by test/faults/outbox-cap.test.ts (routine arrived + dropped = 601 of 600): the oldest
      // routine event was in flight when an alarm made room; it arrived, and was counted dropped too.
      const { outbox } = await open({ maxRecords: 2 });
      const a = await add(outbox);
      const b = await add(outbox);
      expect(outbox.readRecords(ZERO, ALL).map((r) => r.seq)).toEqual([a.event.seq, b.event.seq]);
      const c = await add(outbox, 'alarm');
      expect(outbox.stats()).toMatchObject({ depth: 2, droppedTotal: 0 });
      outbox.ack(a.event.seq); // its PUBACK came: it arrived
      await new Promise((resolve) => setImmediate(resolve));
      expect(outbox.stats()).toMatchObject({ depth: 2, droppedTotal: 0 });
      await add(outbox, 'alarm'); // b, in flight too, makes room
      expect(outbox.stats()).toMatchObject({ droppedTotal: 0 });
      // The link dropped: the uplink reads again from the start, and b is not there: lost, counted once.
      expect(outbox.readRecords(ZERO, ALL).map((r) => r.seq)).toEqual([c.event.seq, c.event.seq + 1]);
      expect(outbox.stats()).toMatchObject({ depth: 2, droppedTotal: 1, droppedSinceStart: 1 });
      outbox.readRecords(ZERO, ALL);
      expect(outbox.stats().droppedTotal).toBe(1);
    });

    it('at maxBytes evicts the oldest routine events and counts them', async () => {
      const events = Array.from({ length: 12 }, (_, i) => makeEvent(i + 1));
      const maxBytes = sizeOf(events[0]!) * 4 + 5;
      const { outbox } = await open({ maxBytes });
      const kept: RbEvent[] = [];
      for (let i = 0; i < 12; i++) {
        const event = makeEvent(outbox.nextSeq());
        await outbox.append(event);
        kept.push(event);
        // The oracle: the newest events whose bytes fit.
        while (kept.reduce((n, e) => n + sizeOf(e), 0) > maxBytes) kept.shift();
      }
      expect(outbox.read(ZERO, ALL)).toEqual(kept);
      const s = outbox.stats();
      expect(s.bytes).toBe(kept.reduce((n, e) => n + sizeOf(e), 0));
      expect(s.bytes).toBeLessThanOrEqual(maxBytes);
      expect(s).toMatchObject({ depth: kept.length, droppedTotal: 12 - kept.length, droppedSinceStart: 12 - kept.length, maxBytes });
    });

    it('applies the caps in order to appends of one tick', async () => {
      const { outbox } = await open({ maxRecords: 4 });
      const events = Array.from({ length: 10 }, () => makeEvent(outbox.nextSeq()));
      const results = await Promise.all(events.map((e) => outbox.append(e)));
      expect(results.map((r) => (r.stored ? r.evicted : -1))).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
      expect(outbox.read(ZERO, ALL)).toEqual(events.slice(6));
      expect(outbox.stats()).toMatchObject({ depth: 4, droppedTotal: 6 });
    });

    it('never evicts an alarm, stores alarms above the caps, refuses routine when full of alarms', async () => {
      const { outbox } = await open({ maxRecords: 3 });
      const r1 = await add(outbox);
      const a1 = await add(outbox, 'alarm');
      const r2 = await add(outbox);
      const a2 = await add(outbox, 'alarm');
      expect(a2.result).toEqual({ stored: true, evicted: 1 }); // r1 made room
      const a3 = await add(outbox, 'alarm');
      expect(a3.result).toEqual({ stored: true, evicted: 1 }); // r2 made room
      const a4 = await add(outbox, 'alarm');
      expect(a4.result).toEqual({ stored: true, evicted: 0 }); // above the cap
      const r3 = await add(outbox);
      expect(r3.result).toEqual<AppendResult>({ stored: false, reason: 'full' });
      expect(outbox.read(ZERO, ALL)).toEqual([a1, a2, a3, a4].map((x) => x.event));
      expect(outbox.stats()).toMatchObject({ depth: 4, alarms: 4, droppedTotal: 3, droppedSinceStart: 3 });
      expect([r1, r2].every((x) => x.result.stored)).toBe(true);
    });

    it('refuses routine by bytes when the bytes are all alarms', async () => {
      const probe = makeEvent(1, 'alarm');
      const { outbox } = await open({ maxBytes: sizeOf(probe) * 2 });
      for (let i = 0; i < 3; i++) expect((await add(outbox, 'alarm')).result).toEqual({ stored: true, evicted: 0 });
      expect((await add(outbox)).result).toEqual({ stored: false, reason: 'full' });
      expect(outbox.stats()).toMatchObject({ depth: 3, alarms: 3, droppedTotal: 1 });
    });

    it('reports depth, alarms, bytes and the oldest append time', async () => {
      const { outbox } = await open({ maxRecords: 50, maxBytes: 100_000 });
      expect(outbox.stats()).toEqual({
        depth: 0, alarms: 0, bytes: 0, oldestAppendedAt: null,
        droppedTotal: 0, droppedSinceStart: 0, maxRecords: 50, maxBytes: 100_000,
      });
      const before = Date.now();
      const first = await add(outbox);
      const after = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5));
      const rest = [await add(outbox, 'alarm'), await add(outbox)];
      const s = outbox.stats();
      expect(s).toMatchObject({ depth: 3, alarms: 1, bytes: [first, ...rest].reduce((n, x) => n + sizeOf(x.event), 0) });
      expect(s.oldestAppendedAt).toBeGreaterThanOrEqual(before);
      expect(s.oldestAppendedAt).toBeLessThanOrEqual(after);
      outbox.ack(first.event.seq);
      expect(outbox.stats().oldestAppendedAt).toBeGreaterThan(after);
      for (const x of rest) outbox.ack(x.event.seq);
      expect(outbox.stats()).toMatchObject({ depth: 0, alarms: 0, bytes: 0, oldestAppendedAt: null });
    });

    // Only persistent implementations promise these; the memory outbox does not run them at all.
    if (kind.persistent) describe('persistence', () => {
      it('keeps every pending event, in order, across stop and reopen', async () => {
        const under = await open();
        if (!under.reopen) throw new Error('a persistent outbox factory must give reopen');
        const kinds = ['routine', 'alarm', 'routine', 'alarm', 'routine', 'routine'] as const;
        const added = [];
        for (const kind of kinds) added.push(await add(under.outbox, kind, `gate-${added.length % 2}`));
        under.outbox.ack(added[2]!.event.seq);
        const pending = under.outbox.read(ZERO, ALL);
        const stats = under.outbox.stats();
        const next = await reopened(under, under.outbox);
        expect(next.read(ZERO, ALL)).toEqual(pending);
        expect(next.stats()).toEqual(stats);
      });

      it('continues seq above every seq handed out, appended or not', async () => {
        const under = await open();
        if (!under.reopen) throw new Error('a persistent outbox factory must give reopen');
        let outbox = under.outbox;
        let highest = 0;
        for (let round = 0; round < 3; round++) {
          const first = outbox.nextSeq();
          expect(first).toBeGreaterThan(highest);
          await outbox.append(makeEvent(first));
          for (let i = 0; i < 1_500 * round + 3; i++) highest = outbox.nextSeq(); // handed out, never appended
          outbox = await reopened(under, outbox);
        }
        expect(outbox.nextSeq()).toBeGreaterThan(highest);
      });

      it('persists the drop counter; droppedSinceStart starts again at 0', async () => {
        const under = await open({ maxRecords: 2 });
        if (!under.reopen) throw new Error('a persistent outbox factory must give reopen');
        for (let i = 0; i < 5; i++) await add(under.outbox);
        expect(under.outbox.stats()).toMatchObject({ droppedTotal: 3, droppedSinceStart: 3 });
        const next = await reopened(under, under.outbox);
        expect(next.stats()).toMatchObject({ depth: 2, droppedTotal: 3, droppedSinceStart: 0 });
        await add(next);
        expect(next.stats()).toMatchObject({ depth: 2, droppedTotal: 4, droppedSinceStart: 1 });
      });
    });
  });
}
