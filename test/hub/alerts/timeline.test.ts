import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { maskForRole } from '../../../hub/alerts/privacy.js';
import { buildTimeline } from '../../../hub/alerts/timeline.js';
import type { AlertDetail } from '../../../hub/alerts/types.js';
import { readLinkedEvents } from '../../../hub/api/alert-detail.js';
import type { EventQuery } from '../../../hub/store/types.js';
import type { RbEvent } from '../../../protocol/index.js';
import { DAY, E, GW } from './fixtures.js';

const S = 1000;
const names: Record<string, string> = { 'user:v1': '王小明', 'user:c1': '中心值班' };
const nameOf = (actor: string): string | undefined => names[actor];

function detail(over: Partial<AlertDetail> = {}): AlertDetail {
  return {
    id: 'A1', estate: E, gateway: GW, device: 'gate-1', rule: 'door.forced', key: 'door:1', severity: 3, state: 'resolved', count: 1,
    openedAt: DAY, lastAt: DAY, level: 1, events: ['E-forced'], snapshots: [], data: {},
    transitions: [], comments: [], activity: [], ...over,
  };
}

describe('buildTimeline', () => {
  it('merges transitions, activity and comments by time, with names, levels and notes', () => {
    const d = detail({
      count: 25,
      transitions: [
        { at: DAY, actor: 'system', from: null, to: 'open' },
        { at: DAY + 60 * S, actor: 'system', from: 'open', to: 'escalated', note: 'level 1' },
        { at: DAY + 90 * S, actor: 'user:v1', from: 'escalated', to: 'acknowledged', note: '马上到' },
        { at: DAY + 95 * S, actor: 'user:c1', from: 'acknowledged', to: 'acknowledged', note: 'assigned user:v1' },
        { at: DAY + 96 * S, actor: 'user:c1', from: 'acknowledged', to: 'acknowledged', note: 'assigned nobody' },
        { at: DAY + 200 * S, actor: 'user:v1', from: 'acknowledged', to: 'resolved', note: '已修好' },
      ],
      activity: [
        { kind: 'notified', at: DAY, actor: 'user:v1', level: 0, reason: 'new' },
        { kind: 'notified', at: DAY + 60 * S, actor: 'user:x9', level: 1, reason: 'escalated' },
        ...Array.from({ length: 20 }, (_, i) => ({ kind: 'repeat' as const, at: DAY + (100 + i) * S, count: i + 6 })),
        { kind: 'condition-cleared', at: DAY + 150 * S, eventId: 'E-closed' },
      ],
      comments: [{ id: 1, at: DAY + 92 * S, actor: 'user:c1', text: '请查看监控' }],
    });
    const { timeline, repeatsOmitted } = buildTimeline(d, nameOf);
    expect(repeatsOmitted).toBe(4);
    expect(timeline.filter((e) => e.kind !== 'repeat')).toEqual([
      { at: DAY, kind: 'raised', actor: 'system', eventId: 'E-forced' },
      { at: DAY, kind: 'notified', actor: 'user:v1', actorName: '王小明', level: 0, reason: 'new' },
      { at: DAY + 60 * S, kind: 'escalated', actor: 'system', level: 1 },
      { at: DAY + 60 * S, kind: 'notified', actor: 'user:x9', level: 1, reason: 'escalated' },
      { at: DAY + 90 * S, kind: 'acknowledged', actor: 'user:v1', actorName: '王小明', note: '马上到' },
      { at: DAY + 92 * S, kind: 'comment', actor: 'user:c1', actorName: '中心值班', text: '请查看监控' },
      { at: DAY + 95 * S, kind: 'assigned', actor: 'user:c1', actorName: '中心值班', assignee: 'user:v1', text: '王小明' },
      { at: DAY + 96 * S, kind: 'assigned', actor: 'user:c1', actorName: '中心值班', assignee: null },
      { at: DAY + 150 * S, kind: 'condition-cleared', eventId: 'E-closed' },
      { at: DAY + 200 * S, kind: 'resolved', actor: 'user:v1', actorName: '王小明', note: '已修好' },
    ]);
    expect(timeline.filter((e) => e.kind === 'repeat').map((e) => e.count)).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    // For a volunteer: names reduced, the assignee's name in an assigned entry's text too; comments stay.
    const masked = maskForRole('volunteer', timeline);
    expect(masked.find((e) => e.kind === 'assigned')).toMatchObject({ text: '王**', actorName: '中***' });
    expect(masked.find((e) => e.kind === 'comment')).toMatchObject({ text: '请查看监控' });
  });

  it('a resolution by the system names the event that cleared it', () => {
    const { timeline } = buildTimeline(detail({
      rule: 'door.held',
      transitions: [
        { at: DAY, actor: 'system', from: null, to: 'open' },
        { at: DAY + 40 * S, actor: 'system', from: 'open', to: 'resolved', note: 'cleared by event E-closed' },
      ],
    }));
    expect(timeline.at(-1)).toEqual({ at: DAY + 40 * S, kind: 'resolved', actor: 'system', note: 'cleared by event E-closed', eventId: 'E-closed' });
  });
});

describe('readLinkedEvents', () => {
  const event = (ts: number, device = 'gate-1', id = ulid(ts)): RbEvent =>
    ({ v: 1, id, seq: ts % 1e6, ts, estate: E, gateway: GW, device, type: 'access.granted', data: { door: 1, method: 'card' } }) as RbEvent;

  it('finds events by the time in their ULID, one query per cluster, oldest first; missing ones are left out', async () => {
    const stored = [event(DAY), event(DAY + 5 * S), event(DAY + 3 * 3600 * S), event(DAY + 6 * S, 'gate-2')];
    const queries: EventQuery[] = [];
    const store = {
      async query(q: EventQuery) {
        queries.push(q);
        return stored.filter((e) => e.device === q.device && e.ts >= q.from! && e.ts < q.to!).slice(0, q.limit);
      },
    };
    const ids = [stored[2]!.id, stored[0]!.id, stored[1]!.id, ulid(DAY + 7 * S), 'not-a-ulid'];
    const found = await readLinkedEvents(store, E, 'gate-1', ids);
    expect(found.map((e) => e.id)).toEqual([stored[0]!.id, stored[1]!.id, stored[2]!.id]);
    expect(queries).toHaveLength(2);
  });

  it('a busy device that fills a page is searched again narrowly for what is missing', async () => {
    const busy = Array.from({ length: 1500 }, (_, i) => event(DAY + i * 10));
    const wanted = busy[1400]!;
    const store = {
      async query(q: EventQuery) {
        return busy.filter((e) => e.ts >= q.from! && e.ts < q.to!).slice(0, q.limit);
      },
    };
    expect((await readLinkedEvents(store, E, 'gate-1', [busy[0]!.id, wanted.id])).map((e) => e.id)).toEqual([busy[0]!.id, wanted.id]);
  });
});
