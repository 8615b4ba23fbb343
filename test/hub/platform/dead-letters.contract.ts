import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeadLetters, type DeadLetterInput } from '../../../hub/ingest/dead-letter.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

const entry = (over: Partial<DeadLetterInput> = {}): DeadLetterInput => ({
  estate: 'maple',
  gateway: 'gw-1',
  topic: 'rb/v1/maple/gw-1/gate-1/event',
  reason: 'schema',
  message: 'm',
  payload: Buffer.from('{}'),
  ...over,
});

/** The dead-letter repository's contract, run on every engine of the hub database (STYLE.md §4). */
export function describeDeadLetters(engine: string, factory: DatabaseFactory): void {
  describe(`dead-letter repository on ${engine}`, () => {
    let t: DatabaseUnderTest;
    beforeEach(async () => {
      t = await factory();
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('keeps reason, topic and payload (UTF-8 as text, anything else as base64, truncation flagged), newest first', async () => {
      const dl = createDeadLetters({ db: t.db, maxPayloadBytes: 16 });
      const binary = Buffer.from([0xff, 0xfe, 0x00, 0x81]);
      dl.record(entry({ reason: 'malformed-json', message: 'Unexpected end', payload: Buffer.from('{"v":1,"id":') }));
      dl.record(entry({ reason: 'malformed-json', payload: binary }));
      dl.record(entry({ reason: 'too-large', payload: Buffer.from('红管家'.repeat(10)) }));
      dl.record(entry({ reason: 'x'.repeat(100), topic: 't'.repeat(600), message: "q'\"\\ 😀".repeat(300) }));
      await dl.flush();
      const items = await dl.list();
      expect(items.map((d) => d.id)).toEqual([4, 3, 2, 1]);
      expect(items[3]).toEqual({ id: 1, receivedAt: expect.any(Number), estate: 'maple', gateway: 'gw-1', topic: 'rb/v1/maple/gw-1/gate-1/event', reason: 'malformed-json', message: 'Unexpected end', payload: '{"v":1,"id":', encoding: 'utf8', bytes: 12, truncated: false });
      expect(items[2]).toMatchObject({ encoding: 'base64', payload: binary.toString('base64'), bytes: 4, truncated: false });
      expect(items[1]).toMatchObject({ encoding: 'utf8', payload: '红管家红管', bytes: 90, truncated: true });
      expect(items[0]!.reason).toHaveLength(64);
      expect(items[0]!.topic).toHaveLength(512);
      // Cut at 1000 UTF-16 units, but never through an emoji's surrogate pair (stored as U+FFFD otherwise).
      expect(items[0]!.message).toBe("q'\"\\ 😀".repeat(300).slice(0, 999));
      expect((await dl.list({ reason: 'malformed-json', limit: 1 })).map((d) => d.id)).toEqual([2]);
      expect(await dl.count()).toBe(4);
      await dl.close();
    });

    it('is pruned to maxRows, newest kept, in order, across chunks', async () => {
      const dl = createDeadLetters({ db: t.db, maxRows: 100 });
      const t0 = performance.now();
      for (let i = 0; i < 5_000; i++) dl.record(entry({ message: `m${i}`, payload: Buffer.from(`p${i}`) }));
      const t1 = performance.now();
      await dl.flush();
      console.log(`dead letters on ${engine}: 5,000 record() calls ${(t1 - t0).toFixed(1)} ms (queue only), writes + prune ${(performance.now() - t1).toFixed(1)} ms`);
      expect(await dl.count()).toBe(100);
      expect((await dl.list({ limit: 1000 })).map((d) => d.message)).toEqual(Array.from({ length: 100 }, (_, i) => `m${4999 - i}`));
      await dl.close();
    });

    it('record() never throws and never waits: past maxQueued entries are counted as lost; after close() they are dropped', async () => {
      let lost = 0;
      const dl = createDeadLetters({ db: t.db, maxQueued: 10, onLost: (n) => (lost += n) });
      for (let i = 0; i < 20; i++) dl.record(entry());
      expect(lost).toBe(10);
      await dl.close();
      expect(await dl.count()).toBe(10);
      expect(() => dl.record(entry())).not.toThrow();
      await dl.flush();
      expect(await dl.count()).toBe(10);
    });

    it('writes in the background without flush()', async () => {
      const dl = createDeadLetters({ db: t.db });
      dl.record(entry());
      await expect.poll(() => dl.count()).toBe(1);
      await dl.close();
    });
  });
}
