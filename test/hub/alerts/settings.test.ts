import { describe, expect, it } from 'vitest';
import { inDailyWindow, localMinute, nextLocalTime } from '../../../hub/alerts/hours.js';
import { AlertSettingsSchema, DEFAULT_SETTINGS, inMaintenance, resolveSettings, RULE_NAMES } from '../../../hub/alerts/settings.js';
import { RbError } from '../../../hub/errors.js';
import { sh } from './fixtures.js';

describe('resolveSettings', () => {
  it('has the defaults of docs/alerts.md', () => {
    const s = resolveSettings({});
    expect(s.timeZone).toBe('Asia/Shanghai');
    expect(s.nightHours).toEqual({ from: '22:00', to: '06:00' });
    expect(s.rules['door.forced']).toEqual({ enabled: true, severity: 3, nightSeverity: 4 });
    expect(s.rules['door.held']).toMatchObject({ severity: 2, heldS: 120 });
    expect(s.rules['access.denied.burst']).toMatchObject({ severity: 2, count: 5, windowS: 120 });
    expect(s.rules['vehicle.overstay']).toMatchObject({ severity: 1, overstayMinutes: 240 });
    expect(s.rules['camera.offline']).toMatchObject({ severity: 2, afterS: 60 });
    expect(s.rules['gateway.offline']).toMatchObject({ severity: 3, afterS: 90 });
    expect(s.rules['motion.night'].zones).toEqual([]);
    expect(s.escalation).toEqual({ ackMinutes: [5, 10, 20], renotifyMinutes: 5 });
    expect(s.quietHours).toEqual({ from: '23:00', to: '07:00', maxSeverity: 1 });
    expect(s.maintenance).toEqual([]);
    expect(RULE_NAMES).toHaveLength(14);
    expect(Object.isFrozen(s.rules['door.held'])).toBe(true);
    expect(resolveSettings(undefined)).toEqual(DEFAULT_SETTINGS);
  });

  it('fills what a partial override leaves out', () => {
    const s = resolveSettings({ rules: { 'door.held': { heldS: 30 } }, escalation: { renotifyMinutes: 2 } });
    expect(s.rules['door.held']).toEqual({ enabled: true, severity: 2, heldS: 30 });
    expect(s.rules['door.forced'].nightSeverity).toBe(4);
    expect(s.escalation).toEqual({ ackMinutes: [5, 10, 20], renotifyMinutes: 2 });
  });

  it('reports every problem at once with its path, as RB_ERR_BAD_BODY', () => {
    let err: unknown;
    try {
      resolveSettings({
        timeZone: 'Mars/Olympus',
        rules: { bogus: {}, 'door.forced': { severity: 5 } },
        escalation: { ackMinutes: [10, 5, 20] },
        quietHours: { from: '24:00' },
        maintenance: [{ device: 'cam-1', from: 10, to: 5 }],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RbError);
    expect((err as RbError).code).toBe('RB_ERR_BAD_BODY');
    const paths = ((err as RbError).details as { path: string }[]).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['timeZone', 'rules', 'rules.door.forced.severity', 'escalation.ackMinutes', 'quietHours.from', 'maintenance.0']));
  });

  it('describes every field', () => {
    const undescribed: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      let s = schema as { description?: string; def?: Record<string, unknown>; shape?: Record<string, unknown> };
      const described = Boolean(s.description);
      // unwrap defaults, prefaults, pipes, optionals down to the object
      for (let i = 0; i < 6 && s.def && (s.def.innerType || s.def.in); i++) s = (s.def.innerType ?? s.def.in) as typeof s;
      if (!described && !s.description && path) undescribed.push(path);
      const shape = s.def?.shape as Record<string, unknown> | undefined;
      if (shape) for (const [k, v] of Object.entries(shape)) walk(v, path ? `${path}.${k}` : k);
    };
    walk(AlertSettingsSchema, '');
    expect(undescribed).toEqual([]);
  });
});

describe('maintenance windows', () => {
  it('cover [from, to) for one device', () => {
    const s = resolveSettings({ maintenance: [{ device: 'cam-1', from: 1000, to: 2000 }] });
    expect(inMaintenance(s, 'cam-1', 999)).toBe(false);
    expect(inMaintenance(s, 'cam-1', 1000)).toBe(true);
    expect(inMaintenance(s, 'cam-1', 1999)).toBe(true);
    expect(inMaintenance(s, 'cam-1', 2000)).toBe(false);
    expect(inMaintenance(s, 'cam-2', 1500)).toBe(false);
  });
});

describe('local hours', () => {
  const night = { from: '22:00', to: '06:00' };

  it('reads wall time in the zone', () => {
    expect(localMinute(sh(2026, 3, 10, 23, 30), 'Asia/Shanghai')).toBe(23 * 60 + 30);
    expect(localMinute(sh(2026, 3, 10, 23, 30), 'UTC')).toBe(15 * 60 + 30);
  });

  it('windows across midnight and within a day; an empty window', () => {
    const tz = 'Asia/Shanghai';
    expect(inDailyWindow(sh(2026, 3, 10, 21, 59, 59), night, tz)).toBe(false);
    expect(inDailyWindow(sh(2026, 3, 10, 22), night, tz)).toBe(true);
    expect(inDailyWindow(sh(2026, 3, 11, 3), night, tz)).toBe(true);
    expect(inDailyWindow(sh(2026, 3, 11, 6), night, tz)).toBe(false);
    expect(inDailyWindow(sh(2026, 3, 11, 13), { from: '12:00', to: '14:00' }, tz)).toBe(true);
    expect(inDailyWindow(sh(2026, 3, 11, 15), { from: '12:00', to: '14:00' }, tz)).toBe(false);
    expect(inDailyWindow(sh(2026, 3, 11, 15), { from: '12:00', to: '12:00' }, tz)).toBe(false);
  });

  it('finds the next local time, also across a daylight-saving change', () => {
    expect(nextLocalTime(sh(2026, 3, 10, 23, 30), '07:00', 'Asia/Shanghai')).toBe(sh(2026, 3, 11, 7));
    expect(nextLocalTime(sh(2026, 3, 11, 7), '07:00', 'Asia/Shanghai')).toBe(sh(2026, 3, 12, 7));
    expect(nextLocalTime(sh(2026, 3, 11, 6, 59, 59), '07:00', 'Asia/Shanghai')).toBe(sh(2026, 3, 11, 7));
    // Europe/Berlin moves from +1 to +2 on 2026-03-29 at 02:00 local.
    expect(nextLocalTime(Date.UTC(2026, 2, 28, 22, 0), '07:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 5, 0));
  });
});
