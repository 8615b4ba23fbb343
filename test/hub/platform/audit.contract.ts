import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAudit, type Audit } from '../../../hub/audit.js';
import { silent, type DatabaseFactory, type DatabaseUnderTest } from './support.js';

/**
 * The audit repository's contract (STYLE.md §4), written once and run on every engine of the hub
 * database: the same entries, order, filters, scope and paging on SQLite and PostgreSQL.
 */
export function describeAudit(engine: string, factory: DatabaseFactory): void {
  describe(`audit repository on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let audit: Audit;
    let clock = 1000;
    beforeEach(async () => {
      t = await factory();
      audit = createAudit({ db: t.db, log: silent, now: () => clock++ });
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('records entries and queries them newest first with filters, scope and paging', async () => {
      for (let i = 0; i < 5; i++) await audit.record({ actor: 'user:a', action: 'roster.shift.add', estate: 'maple', target: `shift:${i}`, detail: { i }, at: 1000 + i });
      await audit.record({ actor: 'user:b', action: 'auth.login', detail: { ip: '127.0.0.1' } });
      await audit.record({ actor: 'system', action: 'roster.shift.add', estate: 'elm', target: 'shift:x' });
      expect((await audit.query()).items.map((e) => e.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
      expect(await audit.query({ estate: 'maple', limit: 2 })).toEqual({
        items: [{ seq: 5, at: 1004, actor: 'user:a', action: 'roster.shift.add', estate: 'maple', target: 'shift:4', detail: { i: 4 } }, expect.objectContaining({ seq: 4 })],
        next: 4,
      });
      expect((await audit.query({ estate: 'maple', limit: 2, before: 4 })).items.map((e) => e.seq)).toEqual([3, 2]);
      expect(await audit.query({ estate: 'maple', before: 2 })).toEqual({ items: [expect.objectContaining({ seq: 1 })] });
      expect((await audit.query({ actor: 'user:b' })).items).toMatchObject([{ action: 'auth.login', estate: null, target: null, detail: { ip: '127.0.0.1' } }]);
      expect((await audit.query({ action: 'roster.shift.add', estates: ['elm'] })).items.map((e) => e.target)).toEqual(['shift:x']);
      // A scoped reader never sees entries without an estate; a scope of no estate sees nothing.
      expect((await audit.query({ estates: ['maple', 'elm'] })).items.every((e) => e.estate !== null)).toBe(true);
      expect(await audit.query({ estates: [] })).toEqual({ items: [] });
    });

    it('returns what it stored: seq, the clock when no time is given, detail round-tripped (CJK, quotes, large times)', async () => {
      clock = Date.UTC(2031, 0, 1); // past 2^32 ms: a BIGINT, read back as a number
      const detail = { text: '红管家 😀 "q" \\ \u2028', n: 1.5, nested: { list: [1, null, true] } };
      const e = await audit.record({ actor: "x' OR 1=1 --", action: 'view.personal', estate: 'maple', target: 'events', detail });
      expect(e).toEqual({ seq: 1, at: clock - 1, actor: "x' OR 1=1 --", action: 'view.personal', estate: 'maple', target: 'events', detail });
      expect((await audit.query()).items).toEqual([e]);
    });

    it('limits a page to 1..1000 and pages through everything exactly once', async () => {
      for (let i = 0; i < 25; i++) await audit.record({ actor: 'cli', action: 'user.add', estate: 'maple' });
      expect((await audit.query({ limit: 0 })).items).toHaveLength(1);
      const seen: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await audit.query({ limit: 10, ...(before !== undefined ? { before } : {}) });
        seen.push(...page.items.map((e) => e.seq));
        if (page.next === undefined) break;
        before = page.next;
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    });

    it('concurrent records all land with distinct seqs; recordInBackground lands too', async () => {
      const entries = await Promise.all(Array.from({ length: 50 }, (_, i) => audit.record({ actor: 'user:a', action: 'auth.login', target: `t${i}` })));
      expect(new Set(entries.map((e) => e.seq)).size).toBe(50);
      audit.recordInBackground({ actor: 'system', action: 'view.personal.live', target: 'push', detail: { estates: ['*'] } });
      await expect.poll(async () => (await audit.query({ action: 'view.personal.live' })).items.length).toBe(1);
      expect((await audit.query({ limit: 1000 })).items).toHaveLength(51);
    });
  });
}
