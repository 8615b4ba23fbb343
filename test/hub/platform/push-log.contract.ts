import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPushLog, type PushEnvelope, type PushLog, type PushLogOptions } from '../../../hub/push/log.js';
import { silent, type DatabaseFactory, type DatabaseUnderTest } from './support.js';

/**
 * The push replay log's contract, on every engine of the hub database: per-scope sequences with no
 * gap and no jump (also across a restart and a failed write), replay after a sequence, `null` when
 * too much was missed, retention and the row cap, and only committed messages reach the sink.
 */
export function describePushLog(engine: string, factory: DatabaseFactory): void {
  describe(`push log on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let sent: PushEnvelope[];
    const logs: PushLog[] = [];
    const open = (opts?: PushLogOptions): PushLog => {
      const log = createPushLog(t.db, silent, opts);
      log.onCommit((envs) => sent.push(...envs));
      logs.push(log);
      return log;
    };
    beforeEach(async () => {
      t = await factory();
      sent = [];
    });
    afterEach(async () => {
      for (const l of logs.splice(0)) await l.close();
      await t.cleanup();
    });

    it('numbers each scope on its own and replays in order after a sequence; sends once committed', async () => {
      const log = open();
      log.append('estate:a', 'event', { n: 1 });
      log.append('estate:b', 'event', { n: 1 });
      log.append('estate:a', 'alert:new', { n: 2 });
      log.append('estate:a', 'alert:update', { n: 3, text: '红管家 "q" \\' });
      expect(sent).toEqual([]); // queued for this tick, nothing committed yet
      await log.flush();
      expect(sent.map((e) => [e.scope, e.seq, e.event])).toEqual([
        ['estate:a', 1, 'event'],
        ['estate:b', 1, 'event'],
        ['estate:a', 2, 'alert:new'],
        ['estate:a', 3, 'alert:update'],
      ]);
      const rows = (await log.after('estate:a', 1, 100))!;
      expect(rows.map((r) => [r.seq, r.event, r.data])).toEqual([
        [2, 'alert:new', { n: 2 }],
        [3, 'alert:update', { n: 3, text: '红管家 "q" \\' }],
      ]);
      expect(await log.after('estate:b', 1, 100)).toEqual([]);
      expect(await log.last('estate:a')).toBe(3);
      expect(await log.last('estate:z')).toBe(0);
    });

    it('writes queued messages by itself within flushMs (no flush called), in one transaction per window', async () => {
      const log = open({ flushMs: 20 });
      for (let i = 0; i < 300; i++) log.append('estate:a', 'event', i, 1000 + i);
      await new Promise((r) => setTimeout(r, 5));
      expect(sent).toEqual([]);
      await new Promise((r) => setTimeout(r, 40));
      await log.exclusive(async () => undefined); // the window's write is done
      expect(sent).toHaveLength(300);
      expect((await log.after('estate:a', 0, 1000))!.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    });

    it('commits the source cursor with the rows made from the entries up to it, and only then', async () => {
      const saved: number[] = [];
      const log = open({ saveSourceCursor: async (trx, sources) => {
        const pos = Math.max(...sources);
        // Inside the writer's transaction: the rows of this batch are visible to it.
        const rows = await trx.selectFrom('push_log').select('seq').where('scope', '=', 'estate:a').execute();
        saved.push(pos * 1000 + rows.length);
      } });
      log.append('estate:a', 'event', { id: 'e1' }, 1, 7);
      log.append('estate:a', 'event', { id: 'e2' }, 2, 9);
      log.append('estate:a', 'device:state', { key: 'k' }, 3);
      await log.flush();
      expect(saved).toEqual([9003]);
      // A batch without sources (an alert's outbox, state) leaves the cursor alone.
      log.append('estate:a', 'device:state', { key: 'k2' }, 4);
      await log.flush();
      expect(saved).toEqual([9003]);
    });

    it('says null (reload) when more were missed than the limit', async () => {
      const log = open();
      for (let i = 0; i < 11; i++) log.append('estate:a', 'event', i);
      await log.flush();
      expect(await log.after('estate:a', 0, 10)).toBeNull();
      expect(await log.after('estate:a', 1, 10)).toHaveLength(10);
    });

    it('continues from the committed maximum after a restart: no jump, no reuse of a sequence anyone was sent', async () => {
      const a = open();
      for (let i = 0; i < 5; i++) a.append('estate:a', 'event', i);
      await a.flush();
      expect(sent.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      // A second process on the same database (a restart, or a kill -9: nothing uncommitted was ever sent).
      const b = open();
      b.append('estate:a', 'event', 'after restart');
      await b.flush();
      expect(sent.at(-1)!.seq).toBe(6);
      expect((await b.after('estate:a', 5, 100))!.map((r) => r.data)).toEqual(['after restart']);
    });

    // Cluster nodes write one scope only on PostgreSQL (shared writers; the embedded SQLite hub has one writer).
    it.skipIf(engine === 'SQLite')('two writers of one scope (cluster nodes): each write continues after the other\'s last sequence', async () => {
      // A user's scope gets `alert:notify` from the estates of every node; an estate's scope moves with its partition.
      const a = open();
      const b = open();
      await a.transaction((_trx, out) => out.append('user:u1', 'alert:notify', 'a1'));
      await b.transaction((_trx, out) => out.append('user:u1', 'alert:notify', 'b1'));
      // a wrote 1 last; its next write must not reuse 2 (taken by b): 3, not a key conflict for ever.
      const env = await a.transaction((_trx, out) => out.append('user:u1', 'alert:notify', 'a2'));
      expect(env.seq).toBe(3);
      expect((await a.after('user:u1', 0, 100))!.map((r) => [r.seq, r.data])).toEqual([
        [1, 'a1'],
        [2, 'b1'],
        [3, 'a2'],
      ]);
    });

    it('a write that fails is rolled back: nothing sent, nothing stored, and its sequences are given again', async () => {
      const log = open();
      log.append('estate:a', 'event', 'first');
      await log.flush();
      await expect(
        log.transaction(async (_trx, out) => {
          await out.append('estate:a', 'event', 'lost 1');
          await out.append('estate:b', 'event', 'lost 2');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(sent.map((e) => e.data)).toEqual(['first']);
      expect(await log.last('estate:a')).toBe(1);
      // A database refusal inside the transaction (a NOT NULL column) is the same.
      await expect(
        log.transaction(async (trx, out) => {
          await out.append('estate:a', 'event', 'lost 3');
          await trx.insertInto('audit').values({ at: 1, actor: null as unknown as string, action: 'x', estate: null, target: null, detail: null }).execute();
        }),
      ).rejects.toThrow();
      const env = await log.transaction((_trx, out) => out.append('estate:a', 'event', 'second'));
      expect(env.seq).toBe(2);
      expect((await log.after('estate:a', 0, 100))!.map((r) => [r.seq, r.data])).toEqual([
        [1, 'first'],
        [2, 'second'],
      ]);
      expect(await log.after('estate:b', 0, 100)).toEqual([]);
      expect(sent.map((e) => e.data)).toEqual(['first', 'second']);
    });

    it('writers run one at a time in call order: sequences follow commit order; exclusive holds commits back', async () => {
      const log = open();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const reader = log.exclusive(async () => {
        await held;
        return [...sent];
      });
      const slow = log.transaction(async (_trx, out) => {
        await out.append('estate:a', 'event', 'slow');
        await new Promise((r) => setTimeout(r, 20));
        await out.append('estate:a', 'event', 'slow 2');
      });
      const fast = log.transaction((_trx, out) => out.append('estate:a', 'event', 'fast'));
      log.append('estate:a', 'event', 'queued');
      await new Promise((r) => setTimeout(r, 30));
      expect(sent).toEqual([]); // the exclusive section holds every write back
      release();
      expect(await reader).toEqual([]);
      await Promise.all([slow, fast, log.flush()]);
      // What was queued before a writer got its turn is written first, by that writer.
      expect(sent.map((e) => [e.seq, e.data])).toEqual([
        [1, 'queued'],
        [2, 'slow'],
        [3, 'slow 2'],
        [4, 'fast'],
      ]);
    });

    it('an outbox transaction waits for the write in progress, not behind a backlog of queued messages', async () => {
      // After a take-over a node queues thousands of event envelopes at once; an alert raised then
      // must not commit only after all of them (it did: every writer took the whole queue first).
      const log = open({ flushMs: 10_000, batchRows: 500 });
      for (let i = 0; i < 5000; i++) log.append(`estate:${i % 7}`, 'event', i);
      const backlog = log.flush();
      const alert = await log.transaction((_trx, out) => out.append('estate:0', 'alert:new', 'forced door'));
      const sentWhenAlertCommitted = sent.length;
      expect(sent.some((e) => e.data === 'forced door')).toBe(true);
      // The write in progress (500) and the slice the transaction took itself (500), then its own: not 5,001.
      expect(sentWhenAlertCommitted).toBe(1001);
      await backlog;
      // Nothing lost, every scope numbered without a gap, the same as replay reads it.
      expect(sent).toHaveLength(5001);
      for (let s = 0; s < 7; s++) {
        const seqs = sent.filter((e) => e.scope === `estate:${s}`).map((e) => e.seq);
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        expect((await log.after(`estate:${s}`, 0, 10_000))!.map((e) => e.seq)).toEqual(seqs);
      }
      // The queued messages keep their append order within a scope.
      expect(sent.filter((e) => e.scope === 'estate:1' && e.event === 'event').map((e) => e.data)).toEqual(Array.from({ length: 715 }, (_, i) => 1 + 7 * i));
      expect(alert.seq).toBeGreaterThan(0);
    });

    it('an outbox transaction that fails gives the queued messages it took back; the next write sends them, in order', async () => {
      const log = open({ flushMs: 10_000 });
      log.append('estate:a', 'event', 'q1');
      log.append('estate:a', 'event', 'q2');
      await expect(
        log.transaction(async (_trx, out) => {
          await out.append('estate:a', 'alert:update', 'lost');
          throw new Error('409');
        }),
      ).rejects.toThrow('409');
      expect(sent).toEqual([]);
      await log.transaction((_trx, out) => out.append('estate:a', 'alert:update', 'kept'));
      expect(sent.map((e) => [e.seq, e.data])).toEqual([
        [1, 'q1'],
        [2, 'q2'],
        [3, 'kept'],
      ]);
    });

    it('prunes by age and by row cap', async () => {
      const log = open({ retentionMs: 1000, maxRows: 3 });
      log.append('estate:a', 'event', 'old', 1_000);
      for (let i = 0; i < 5; i++) log.append('estate:a', 'event', i, 10_000 + i);
      await log.flush();
      expect(await log.prune(10_500)).toBe(3);
      expect((await log.after('estate:a', 0, 100))!.map((r) => r.data)).toEqual([2, 3, 4]);
      // Pruning never moves a scope's sequence back.
      log.append('estate:a', 'event', 'next', 20_000);
      await log.flush();
      expect(sent.at(-1)!.seq).toBe(7);
    });

    it('still replays after a client was away 5 minutes (and 6 days): only the 7-day retention drops rows', async () => {
      const log = open();
      const t0 = Date.UTC(2026, 10, 27, 8, 0, 0);
      for (let i = 0; i < 5; i++) log.append('estate:a', 'alert:update', { i }, t0 + i * 1000);
      await log.flush();
      expect(await log.prune(t0 + 5 * 60_000)).toBe(0);
      expect((await log.after('estate:a', 1, 100))!.map((r) => r.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
      expect(await log.prune(t0 + 6 * 24 * 3600_000)).toBe(0);
      expect(await log.prune(t0 + 7 * 24 * 3600_000 + 2500)).toBe(3);
    });

    it('close writes what is queued; appends after it are dropped', async () => {
      const log = open();
      log.append('estate:a', 'event', 'queued');
      await log.close();
      log.append('estate:a', 'event', 'too late');
      await log.flush();
      expect((await open().after('estate:a', 0, 100))!.map((r) => r.data)).toEqual(['queued']);
    });
  });
}
