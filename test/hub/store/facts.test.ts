import { describe, expect, it } from 'vitest';
import { alertFact, alertOpenFact } from '../../../hub/store/facts.js';
import { cleanName, NAME_REFRESH_MS, NameBook } from '../../../hub/store/facts-names.js';
import { encodePoint } from '../../../hub/store/influx-line.js';
import { toPoint } from '../../../hub/store/facts.js';
import type { GatewayStatus } from '../../../protocol/index.js';

const status = (devices: GatewayStatus['devices']): GatewayStatus => ({ v: 1, estate: 'maple-court', gateway: 'gw-1', state: 'online', ts: 1, devices });

describe('facts: names (hub/store/facts-names.ts)', () => {
  it('cleans a name into a safe tag value, or nothing', () => {
    expect(cleanName('  枫林苑\n二期 ')).toBe('枫林苑 二期');
    expect(cleanName('a\\b')).toBe('a b');
    expect(cleanName(' \t ')).toBeUndefined();
    expect(cleanName(null)).toBeUndefined();
    expect([...cleanName('门'.repeat(100))!]).toHaveLength(64);
  });

  it('tags facts with the estate and device names, falling back to the ids', () => {
    const now = 1_000_000;
    const book = new NameBook({ estates: () => [{ id: 'maple-court', street: 'east-street', name: '枫林苑' }], now: () => now });
    book.learn(status({ 'gate-east': { online: true, name: '东门' }, 'cam-1': { online: true } }));
    const p = book.tag({ measurement: 'device_availability', tags: { estate: 'maple-court', gateway: 'gw-1', device: 'gate-east' }, fields: { online: 1 }, ts: now });
    expect(p.tags).toMatchObject({ estate_name: '枫林苑', device_name: '东门' });
    expect(book.tag({ measurement: 'device_availability', tags: { estate: 'elm-row', device: 'cam-1' }, fields: { online: 1 }, ts: now }).tags).toMatchObject({ estate_name: 'elm-row', device_name: 'cam-1' });
    expect(book.street('maple-court')).toBe('east-street');
    expect(book.street('elm-row')).toBe('unassigned');
  });

  it('writes a lookup point when a name is new or changed, and again after a day', () => {
    let now = 1_000_000;
    let name = '枫林苑';
    let streetName = '东街道';
    const book = new NameBook({
      estates: () => [{ id: 'maple-court', street: 'east-street', name }],
      // A street without estates is listed too; one without a name, and `unassigned`, by their ids.
      streets: () => [{ id: 'east-street', name: streetName }, { id: 'west-street', name: null }],
      now: () => now,
      ttlMs: 0,
    });
    book.learn(status({ 'gate-east': { online: true, name: '东门' } }));
    const first = book.changes(['elm-row']);
    expect(first.map((p) => [p.measurement, p.fields.label])).toEqual([
      ['estate_names', 'maple-court|枫林苑'],
      ['estate_names', 'elm-row|elm-row'],
      ['street_names', 'east-street|东街道'],
      ['street_names', 'west-street|west-street'],
      ['street_names', 'unassigned|unassigned'],
      ['device_names', 'gate-east|东门'],
    ]);
    expect(first[2]).toMatchObject({ tags: { street: 'east-street' }, fields: { name: '东街道' } });
    expect(book.tag(first[2]!)).toBe(first[2]);
    expect(first[0]!.fields.street).toBe('east-street');
    for (const p of first) expect(encodePoint(toPoint(p)).ok).toBe(true);
    now += 5_000;
    expect(book.changes(['elm-row'])).toEqual([]);
    name = '枫林苑 一期';
    now += 5_000;
    expect(book.changes().map((p) => p.fields.label)).toEqual(['maple-court|枫林苑 一期']);
    streetName = '东 街道';
    now += 5_000;
    expect(book.changes().map((p) => p.fields.label)).toEqual(['east-street|东 街道']);
    now += NAME_REFRESH_MS;
    expect(book.changes().length).toBe(6);
  });
});

describe('facts: names at district scale', () => {
  it('a status looks at its own estate only, and an estate the registry does not list costs one registry read per minute', () => {
    let now = 1_000_000;
    let reads = 0;
    const estates = Array.from({ length: 500 }, (_, i) => ({ id: `estate-${i}`, street: 's', name: `小区${i}` }));
    const book = new NameBook({ estates: () => (reads++, estates), now: () => now });
    expect(book.changes(['estate-1']).length).toBe(501); // the first call sweeps everything known (and street `s`)
    book.learn({ ...status({ 'gate-east': { online: true, name: '东门' } }), estate: 'estate-2' });
    now += 1_000;
    expect(book.changes(['estate-2']).map((p) => p.fields.label)).toEqual(['gate-east|东门']);
    const before = reads;
    for (let i = 0; i < 20; i++) {
      now += 1_000;
      expect(book.changes(['demo-estate']).map((p) => p.fields.label)).toEqual(i === 0 ? ['demo-estate|demo-estate', 'unassigned|unassigned'] : []);
      expect(book.estateName('demo-estate')).toBe('demo-estate');
    }
    expect(reads - before).toBe(1);
    now += 60_000;
    book.changes(['demo-estate']);
    expect(reads - before).toBe(2);
  });
});

describe('facts: alerts_open (one point per alert, merged by InfluxDB)', () => {
  const alert = { id: '01HZZZZZZZZZZZZZZZZZZZZZZZ', estate: 'maple-court', rule: 'door.forced', severity: 4, count: 1, level: 0, openedAt: 1_700_000_000_000 };

  it('every transition writes the same series and time; only the resolution writes resolved_at', () => {
    const rows = (['opened', 'escalated', 'acknowledged', 'resolved'] as const).map((tr, i) =>
      alertOpenFact({ ...alertFact({ ...alert, level: i }, tr, alert.openedAt + (i + 1) * 60_000), tags: { ...alertFact(alert, tr, 0).tags, estate_name: '枫林苑' } })!,
    );
    for (const r of rows) {
      expect(r.measurement).toBe('alerts_open');
      expect(r.tags).toEqual({ estate: 'maple-court' });
      expect(r.ts).toBe(rows[0]!.ts);
      expect(Math.floor(r.ts)).toBe(alert.openedAt);
      expect(r.fields).toMatchObject({ alert_id: alert.id, rule: 'door.forced', severity: 4, estate_name: '枫林苑' });
      expect(encodePoint(toPoint(r)).ok).toBe(true);
    }
    expect(rows.map((r) => r.fields.state)).toEqual(['opened', 'escalated', 'acknowledged', 'resolved']);
    expect(rows.map((r) => r.fields.resolved_at)).toEqual([undefined, undefined, undefined, alert.openedAt + 4 * 60_000]);
    expect(encodePoint(toPoint(rows[3]!)).ok && encodePoint(toPoint(rows[3]!))).toMatchObject({ line: expect.stringContaining('resolved_at=1700000240000i') });
  });

  it('derives nothing from other facts or from an alerts point without opened_at', () => {
    expect(alertOpenFact({ measurement: 'gateway_status', tags: { estate: 'x' }, fields: { online: 1 }, ts: 1 })).toBeUndefined();
    const { opened_at: _, ...fields } = alertFact(alert, 'opened', alert.openedAt).fields;
    expect(alertOpenFact({ ...alertFact(alert, 'opened', alert.openedAt), fields })).toBeUndefined();
  });
});
