import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { webpushPlugin } from '../../hub/notify/channels/webpush.js';
import { optionRows, toJsonSchema } from '../../scripts/lib/schema-table.js';

describe('docs/notifications.md: the webpush channel', () => {
  it('lists every key of webpush as its schema says (type, default, description)', () => {
    const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
    const rows = optionRows(toJsonSchema(webpushPlugin.config), true);
    expect(rows.length).toBe(5);
    for (const row of rows) expect(doc).toContain(row);
  });
});
