import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAudit } from '../../../hub/audit.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('audit log', () => {
  it('records entries and queries them newest first with filters, scope and paging; survives reopening', () => {
    let audit = openAudit(dir);
    for (let i = 0; i < 5; i++) audit.record({ actor: 'user:a', action: 'roster.shift.add', estate: 'maple', target: `shift:${i}`, detail: { i }, at: 1000 + i });
    audit.record({ actor: 'user:b', action: 'auth.login', detail: { ip: '127.0.0.1' } });
    audit.record({ actor: 'system', action: 'roster.shift.add', estate: 'elm', target: 'shift:x' });
    audit.close();
    audit = openAudit(dir);
    try {
      expect(audit.query().items.map((e) => e.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
      expect(audit.query({ estate: 'maple', limit: 2 })).toEqual({
        items: [
          { seq: 5, at: 1004, actor: 'user:a', action: 'roster.shift.add', estate: 'maple', target: 'shift:4', detail: { i: 4 } },
          expect.objectContaining({ seq: 4 }),
        ],
        next: 4,
      });
      expect(audit.query({ estate: 'maple', limit: 2, before: 4 }).items.map((e) => e.seq)).toEqual([3, 2]);
      expect(audit.query({ estate: 'maple', before: 2 })).toEqual({ items: [expect.objectContaining({ seq: 1 })] });
      expect(audit.query({ actor: 'user:b' }).items).toMatchObject([{ action: 'auth.login', estate: null, detail: { ip: '127.0.0.1' } }]);
      expect(audit.query({ action: 'roster.shift.add', estates: ['elm'] }).items.map((e) => e.target)).toEqual(['shift:x']);
      // A scoped reader never sees entries without an estate.
      expect(audit.query({ estates: ['maple', 'elm'] }).items.every((e) => e.estate !== null)).toBe(true);
    } finally {
      audit.close();
    }
  });
});
