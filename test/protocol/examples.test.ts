import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, GatewayStatus, decodeEvent, topics } from '../../protocol/index.js';

const dir = new URL('../../protocol/examples/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const read = (f: string): unknown => JSON.parse(readFileSync(new URL(f, dir), 'utf8'));

describe('protocol/examples', () => {
  it('has exactly one example per event type, plus the gateway status', () => {
    const expected = [...Object.keys(EVENT_TYPES), 'gateway.status'].map((t) => `${t}.json`).sort();
    expect(files.sort()).toEqual(expected);
  });

  for (const type of Object.keys(EVENT_TYPES)) {
    it(`${type}.json is a valid ${type} event whose ids make a valid topic`, () => {
      const raw = readFileSync(new URL(`${type}.json`, dir), 'utf8');
      const result = decodeEvent(raw, 64 * 1024);
      if (!result.ok) throw new Error(`${type}.json: ${result.reason}: ${result.message}`);
      expect(result.event.type).toBe(type);
      expect(result.event).toEqual(JSON.parse(raw)); // nothing stripped or defaulted
      expect(topics.event(result.event.estate, result.event.gateway, result.event.device)).toMatch(/^rb\/v1\//);
    });
  }

  it('gateway.status.json is a valid gateway status', () => {
    const parsed = GatewayStatus.safeParse(read('gateway.status.json'));
    expect(parsed.success, parsed.error?.message).toBe(true);
  });

  it('no example carries a raw card number or a name', () => {
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      expect(text).not.toMatch(/cardNo|employeeNo|"name"/);
    }
  });
});
