import { afterEach, describe, expect, it, vi } from 'vitest';
import { escalation, type EscalationAlert } from '../../../hub/alerts/escalation.js';
import { resolveSettings } from '../../../hub/alerts/settings.js';
import { DAY, sh } from './fixtures.js';

const MIN = 60_000;
const S = resolveSettings({});
const alert = (over: Partial<EscalationAlert> = {}): EscalationAlert => ({ severity: 3, state: 'open', level: 0, openedAt: DAY, notifiedAt: null, ...over });

describe('escalation timing (explicit now)', () => {
  it('notifies level 0 at once, then levels 1, 2, 3 at 5, 10, 20 minutes, re-notifying every 5 minutes', () => {
    expect(escalation(alert(), S, DAY)).toEqual({ level: 0, notify: 'new', deferred: false, wakeAt: DAY + 5 * MIN });
    expect(escalation(alert({ notifiedAt: DAY }), S, DAY + 5 * MIN - 1)).toEqual({ level: 0, notify: null, deferred: false, wakeAt: DAY + 5 * MIN });
    expect(escalation(alert({ notifiedAt: DAY }), S, DAY + 5 * MIN)).toEqual({ level: 1, notify: 'escalated', deferred: false, wakeAt: DAY + 10 * MIN });
    expect(escalation(alert({ level: 1, notifiedAt: DAY + 5 * MIN }), S, DAY + 10 * MIN)).toEqual({ level: 2, notify: 'escalated', deferred: false, wakeAt: DAY + 15 * MIN });
    expect(escalation(alert({ level: 2, notifiedAt: DAY + 10 * MIN }), S, DAY + 15 * MIN)).toEqual({ level: 2, notify: 'renotify', deferred: false, wakeAt: DAY + 20 * MIN });
    expect(escalation(alert({ level: 2, notifiedAt: DAY + 15 * MIN }), S, DAY + 20 * MIN)).toEqual({ level: 3, notify: 'escalated', deferred: false, wakeAt: DAY + 25 * MIN });
    expect(escalation(alert({ level: 3, notifiedAt: DAY + 20 * MIN }), S, DAY + 25 * MIN)).toEqual({ level: 3, notify: 'renotify', deferred: false, wakeAt: DAY + 30 * MIN });
    expect(escalation(alert({ level: 3, notifiedAt: DAY + 25 * MIN }), S, DAY + 600 * MIN).level).toBe(3);
  });

  it('jumps straight to the level due when it looks late (after a restart), and never goes below the current level', () => {
    expect(escalation(alert({ notifiedAt: DAY }), S, DAY + 12 * MIN)).toMatchObject({ level: 2, notify: 'escalated' });
    expect(escalation(alert({ level: 2, notifiedAt: DAY + MIN }), S, DAY + 2 * MIN)).toMatchObject({ level: 2, notify: null });
  });

  it('acknowledged and resolved alerts never escalate', () => {
    for (const state of ['acknowledged', 'resolved'] as const) {
      expect(escalation(alert({ state, level: 1, notifiedAt: DAY }), S, DAY + 60 * MIN)).toEqual({ level: 1, notify: null, deferred: false, wakeAt: null });
    }
  });

  it('honours configured ackMinutes and renotifyMinutes (0 = no re-notification)', () => {
    const s = resolveSettings({ escalation: { ackMinutes: [1, 2, 3], renotifyMinutes: 0 } });
    expect(escalation(alert(), s, DAY)).toMatchObject({ notify: 'new', wakeAt: DAY + MIN });
    expect(escalation(alert({ level: 3, notifiedAt: DAY + 3 * MIN }), s, DAY + 100 * MIN)).toEqual({ level: 3, notify: null, deferred: false, wakeAt: null });
  });
});

describe('quiet hours (23:00-07:00 Asia/Shanghai, severity <= 1)', () => {
  const q = (h: number, m = 0, day = 10) => sh(2026, 3, day, h, m);

  it('defers a severity-1 alert opened in quiet hours to 07:00, and starts its escalation clock then', () => {
    const a = alert({ severity: 1, openedAt: q(23, 30) });
    expect(escalation(a, S, q(23, 30))).toEqual({ level: 0, notify: null, deferred: true, wakeAt: q(7, 0, 11) });
    expect(escalation(a, S, q(3, 0, 11))).toEqual({ level: 0, notify: null, deferred: true, wakeAt: q(7, 0, 11) });
    expect(escalation(a, S, q(7, 0, 11))).toEqual({ level: 0, notify: 'new', deferred: false, wakeAt: q(7, 5, 11) });
    expect(escalation({ ...a, notifiedAt: q(7, 0, 11) }, S, q(7, 5, 11))).toMatchObject({ level: 1, notify: 'escalated' });
  });

  it('pauses the escalation clock of a low-severity alert during quiet hours', () => {
    const a = alert({ severity: 1, openedAt: q(22, 50), notifiedAt: q(22, 50) });
    expect(escalation(a, S, q(22, 55))).toEqual({ level: 1, notify: 'escalated', deferred: false, wakeAt: q(7, 0, 11) });
    // 10 minutes of escalation time passed at 23:00; the next 10 only after 07:00.
    const b = { ...a, level: 1, notifiedAt: q(22, 55) };
    expect(escalation(b, S, q(23, 10))).toEqual({ level: 2, notify: null, deferred: true, wakeAt: q(7, 0, 11) });
    expect(escalation(b, S, q(7, 0, 11))).toEqual({ level: 2, notify: 'escalated', deferred: false, wakeAt: q(7, 5, 11) });
    expect(escalation({ ...b, level: 2, notifiedAt: q(7, 0, 11) }, S, q(7, 9, 11))).toMatchObject({ level: 2, notify: 'renotify', wakeAt: q(7, 10, 11) });
    expect(escalation({ ...b, level: 2, notifiedAt: q(7, 9, 11) }, S, q(7, 10, 11))).toMatchObject({ level: 3, notify: 'escalated' });
    // A severity-3 alert's clock does not pause.
    expect(escalation({ ...b, severity: 3 }, S, q(23, 10))).toMatchObject({ level: 3, notify: 'escalated' });
  });

  it('does not hold higher severities, and follows a configured window and severity', () => {
    expect(escalation(alert({ severity: 2, openedAt: q(23, 30) }), S, q(23, 30))).toMatchObject({ notify: 'new' });
    expect(escalation(alert({ severity: 4, openedAt: q(2, 0, 11) }), S, q(2, 0, 11))).toMatchObject({ notify: 'new' });
    const s = resolveSettings({ quietHours: { from: '21:00', to: '06:30', maxSeverity: 2 } });
    expect(escalation(alert({ severity: 2, openedAt: q(21, 0) }), s, q(21, 0))).toMatchObject({ notify: null, deferred: true, wakeAt: q(6, 30, 11) });
    expect(escalation(alert({ severity: 2, openedAt: q(6, 30, 11) }), s, q(6, 30, 11))).toMatchObject({ notify: 'new' });
    expect(escalation(alert({ severity: 1, openedAt: q(23, 30) }), resolveSettings({ quietHours: { maxSeverity: 0 } }), q(23, 30))).toMatchObject({ notify: 'new' });
  });

  it('crosses midnight: 23:59 and 06:59 are quiet, 22:59 and 07:00 are not', () => {
    const at = (t: number) => escalation(alert({ severity: 1, openedAt: t }), S, t).notify;
    expect(at(q(22, 59))).toBe('new');
    expect(at(q(23, 0))).toBeNull();
    expect(at(q(23, 59))).toBeNull();
    expect(at(q(0, 0, 11))).toBeNull();
    expect(at(q(6, 59, 11))).toBeNull();
    expect(at(q(7, 0, 11))).toBe('new');
  });
});

describe('escalation on a fake clock', () => {
  afterEach(() => vi.useRealTimers());

  it('drives notifications by wakeAt until acknowledged', () => {
    vi.useFakeTimers();
    vi.setSystemTime(DAY);
    const a = alert();
    const sent: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const look = (): void => {
      const d = escalation(a, S, Date.now());
      if (d.notify) {
        sent.push(`${(Date.now() - DAY) / MIN}m L${d.level} ${d.notify}`);
        a.level = d.level;
        a.notifiedAt = Date.now();
      }
      if (d.wakeAt !== null) timer = setTimeout(look, d.wakeAt - Date.now());
    };
    look();
    vi.advanceTimersByTime(30 * MIN);
    a.state = 'acknowledged';
    vi.advanceTimersByTime(60 * MIN);
    clearTimeout(timer);
    expect(sent).toEqual(['0m L0 new', '5m L1 escalated', '10m L2 escalated', '15m L2 renotify', '20m L3 escalated', '25m L3 renotify', '30m L3 renotify']);
  });
});
