import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { smsAliyun } from '../../hub/notify/channels/sms-aliyun.js';
import { smsTencent } from '../../hub/notify/channels/sms-tencent.js';
import { voiceAliyun } from '../../hub/notify/channels/voice-aliyun.js';
import { optionRows, toJsonSchema } from '../../scripts/lib/schema-table.js';

describe('docs/notifications.md: the SMS and voice cloud channels', () => {
  const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
  for (const plugin of [smsAliyun, voiceAliyun, smsTencent]) {
    it(`lists every key of ${plugin.type} as its schema says (type, default, description)`, () => {
      const rows = optionRows(toJsonSchema(plugin.config), true);
      expect(rows.length).toBeGreaterThan(5);
      for (const row of rows) expect(doc).toContain(row);
    });
  }
});
