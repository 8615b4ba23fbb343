import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPeople, type People } from '../../../hub/people/index.js';
import type { Roster } from '../../../hub/people/roster.js';
import type { Users } from '../../../hub/people/users.js';
import { localTime, zonedInstant } from '../../../lib/zoned.js';
import pino from 'pino';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { openRegistry, type Registry } from '../../../hub/registry.js';

/** The roster over real SQLite, time from fake timers. 2025-03-03 is a Monday; Shanghai is UTC+8. */
const sh = (iso: string): number => Date.parse(`${iso}+08:00`);

let dir: string;
let hubDb: HubDatabase;
let registry: Registry;
let people: People;
let users: Users;
let roster: Roster;
const ids: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rb-roster-'));
  const log = pino({ level: 'silent' });
  hubDb = await openDatabase({ file: join(dir, 'hub.db'), log });
  registry = await openRegistry(hubDb, { log });
  await registry.addStreet('east');
  await registry.addGrid('g1', { street: 'east' });
  await registry.addGrid('g2', { street: 'east' });
  await registry.addEstate('maple', { grid: 'g1' });
  await registry.addEstate('elm', { grid: 'g2' });
  people = await openPeople({ db: hubDb, dataDir: dir, registry, tokenTtl: '1h', timeZone: 'Asia/Shanghai', apiToken: undefined, watch: false });
  users = people.users;
  roster = people.roster;
  for (const [name, role, scope] of [
    ['vol1', 'volunteer', 'estate:maple'],
    ['vol2', 'volunteer', 'estate:maple'],
    ['vol-elm', 'volunteer', 'estate:elm'],
    ['patrol1', 'patrol', 'grid:g1'],
    ['patrol2', 'patrol', 'grid:g2'],
    ['center1', 'center', 'street:east'],
  ] as const) {
    ids[name] = (await users.add({ name, role, scopes: [scope] })).id;
  }
  await roster.addShift({ user: 'vol1', estate: 'maple', weekday: 1, start: '08:00', end: '20:00' });
  await roster.addShift({ user: ids['vol2']!, estate: 'maple', weekday: 1, start: '20:00', end: '08:00' }); // crosses midnight
  await roster.addShift({ user: 'vol-elm', estate: 'elm', weekday: 1, start: '00:00', end: '24:00' });
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  people.close();
  await registry.close();
  await hubDb.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = (list: Array<{ name: string }>) => list.map((u) => u.name);
const at = (iso: string) => vi.useFakeTimers({ now: sh(iso) });

describe('roster', () => {
  it('local time in the hub zone: weekday and minute; wall time back to an instant, also across DST', () => {
    expect(localTime(sh('2025-03-03T09:30:00'), 'Asia/Shanghai')).toMatchObject({ weekday: 1, minute: 570 });
    expect(localTime(sh('2025-03-09T23:59:00'), 'Asia/Shanghai')).toMatchObject({ weekday: 7 });
    expect(zonedInstant(2025, 3, 3, 20 * 60, 'Asia/Shanghai')).toBe(sh('2025-03-03T20:00:00'));
    expect(zonedInstant(2025, 3, 9, 3 * 60, 'America/New_York')).toBe(Date.parse('2025-03-09T07:00:00Z')); // EDT starts 02:00
    expect(zonedInstant(2025, 3, 8, 3 * 60, 'America/New_York')).toBe(Date.parse('2025-03-08T08:00:00Z'));
  });

  it('on duty now: weekly shifts in Asia/Shanghai, a shift that crosses midnight, nobody outside shifts', () => {
    at('2025-03-03T09:00:00');
    expect(names(roster.onDuty('maple'))).toEqual(['vol1']);
    at('2025-03-03T23:00:00');
    expect(names(roster.onDuty('maple'))).toEqual(['vol2']);
    at('2025-03-04T07:59:00');
    expect(names(roster.onDuty('maple'))).toEqual(['vol2']);
    at('2025-03-04T08:00:00');
    expect(roster.onDuty('maple')).toEqual([]);
    // A week later the same (weekly pattern); elm has its own volunteer all Monday.
    at('2025-03-10T19:59:00');
    expect(names(roster.onDuty('maple'))).toEqual(['vol1']);
    expect(names(roster.onDuty('elm'))).toEqual(['vol-elm']);
  });

  it('exceptions: off removes duty in its window, on adds it; next on duty is the next change', async () => {
    const off = await roster.addException({ user: 'vol1', estate: 'maple', from: sh('2025-03-03T10:00:00'), to: sh('2025-03-03T11:00:00'), kind: 'off' });
    const on = await roster.addException({ user: 'vol2', estate: 'maple', from: sh('2025-03-03T10:00:00'), to: sh('2025-03-03T11:00:00'), kind: 'on' });
    try {
      at('2025-03-03T10:30:00');
      expect(names(roster.onDuty('maple'))).toEqual(['vol2']);
      expect(roster.nextOnDuty('maple')).toEqual({ at: sh('2025-03-03T11:00:00'), users: [expect.objectContaining({ name: 'vol1' })] });
      at('2025-03-03T11:00:00');
      expect(names(roster.onDuty('maple'))).toEqual(['vol1']);
      expect(roster.nextOnDuty('maple')).toEqual({ at: sh('2025-03-03T20:00:00'), users: [expect.objectContaining({ name: 'vol2' })] });
      // Tuesday morning: the next shift is next Monday 08:00.
      at('2025-03-04T09:00:00');
      expect(roster.nextOnDuty('maple')?.at).toBe(sh('2025-03-10T08:00:00'));
    } finally {
      await roster.removeException(off.id);
      await roster.removeException(on.id);
    }
    expect(roster.listExceptions({ estates: ['maple'] })).toEqual([]);
  });

  it('recipients per escalation level: on duty, all volunteers of the estate, the grid patrol, the street center', async () => {
    at('2025-03-03T09:00:00');
    expect(names(roster.recipients(0, 'maple'))).toEqual(['vol1']);
    expect(names(roster.recipients(1, 'maple')).sort()).toEqual(['vol1', 'vol2']);
    expect(names(roster.recipients(2, 'maple'))).toEqual(['patrol1']);
    expect(names(roster.recipients(2, 'elm'))).toEqual(['patrol2']);
    expect(names(roster.recipients(3, 'maple'))).toEqual(['center1']);
    await users.disable('vol1');
    expect(roster.recipients(0, 'maple')).toEqual([]);
    expect(names(roster.recipients(1, 'maple'))).toEqual(['vol2']);
  });

  it('refuses shifts for unknown users, non-volunteers, estates outside the user scope and bad times', async () => {
    await expect(roster.addShift({ user: 'nobody', estate: 'maple', weekday: 1, start: '08:00', end: '09:00' })).rejects.toThrow(expect.objectContaining({ code: 'RB_ERR_UNKNOWN_USER' }));
    await expect(roster.addShift({ user: 'patrol1', estate: 'maple', weekday: 1, start: '08:00', end: '09:00' })).rejects.toThrow(/for volunteers/);
    await expect(roster.addShift({ user: 'vol2', estate: 'elm', weekday: 1, start: '08:00', end: '09:00' })).rejects.toThrow(/do not cover estate elm/);
    await expect(roster.addShift({ user: 'vol2', estate: 'maple', weekday: 8, start: '8:00', end: '25:00' })).rejects.toThrow(/weekday.*start.*end/s);
    await expect(roster.addException({ user: 'vol2', estate: 'maple', from: 10, to: 5, kind: 'off' })).rejects.toThrow(/to: must be after from/);
    expect(roster.listShifts({ estates: ['maple'] })).toHaveLength(2);
  });
});
