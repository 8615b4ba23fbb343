import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DELIVERY, EVENT_TYPES, isAlarmType } from '../../protocol/index.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md matches protocol/', () => {
  it('has a topic row with the right QoS and retain flag for every message kind', () => {
    const pattern: Record<string, string> = {
      status: '`rb/v1/{estate}/{gateway}/status`',
      event: '`rb/v1/{estate}/{gateway}/{device}/event`',
      state: '`rb/v1/{estate}/{gateway}/{device}/state`',
      cmd: '`rb/v1/{estate}/{gateway}/{device}/cmd`',
      'cmd/result': '`rb/v1/{estate}/{gateway}/{device}/cmd/result`',
    };
    for (const [kind, delivery] of Object.entries(DELIVERY)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${pattern[kind]} |`));
      expect(row, kind).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells[3], `${kind} qos`).toBe(String(delivery.qos));
      expect(cells[4], `${kind} retain`).toBe(delivery.retain ? 'yes' : 'no');
    }
  });

  it('documents every event type with its class', () => {
    for (const type of Object.keys(EVENT_TYPES)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${type}\` |`));
      expect(row, type).toBeDefined();
      expect(row).toMatch(isAlarmType(type) ? /\| alarm \|/ : /\| routine( \(alarm when [^)]+\))? \|/);
    }
  });
});
