import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics } from '../../protocol/index.js';
import type { ContactRoute } from '../../hub/notify/types.js';
import { captureLog, makeEvent, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { HTTP_TEST_PLUGIN, PROVIDER_TOKEN, phoneRoute, startNotifyProvider, staticContactBook, type NotifyProvider } from '../support/notify-provider.js';

/**
 * Issue 17, items 2 and 5, through a real hub (broker, ingest, rules, alert service, outbox,
 * dispatcher) and a local provider outside it: a forced door's level-0 rows are sent within a
 * second of the event; the alert view shows who was told, masked; when every notification of the
 * level fails, the alert escalates at once (audited), and the next level is notified — each message
 * delivered at most once.
 */
describe('notification outbox in the hub', () => {
  const ESTATE = 'maple';
  const routes: Record<string, ContactRoute[]> = {};
  const ids: Record<string, string> = {};
  let t: TestHub;
  let provider: NotifyProvider;
  let gw: MqttClient;
  const { log, lines } = captureLog('info');
  let seq = 1;

  beforeAll(async () => {
    provider = await startNotifyProvider();
    t = await startTestHub({
      log,
      notify: { channelPlugins: [HTTP_TEST_PLUGIN], contactBook: staticContactBook(routes) },
      config: {
        notify: {
          channels: [{ id: 'sms', type: 'http-test', url: provider.url, token: PROVIDER_TOKEN }],
          retry: { baseMs: 50, maxMs: 200, attempts: 2 },
          sendTimeoutMs: 500,
        },
      },
    });
    await t.hub.registry.addStreet('s1', '幸福街道');
    await t.hub.registry.addGrid('g1', { street: 's1' });
    await t.hub.registry.addEstate(ESTATE, { street: 's1', grid: 'g1', name: '枫林苑' });
    for (const [name, phone] of [['vol-a', '13800138000'], ['vol-b', '13900139000']] as const) {
      const u = await t.addUser({ name, role: 'volunteer', scopes: [`estate:${ESTATE}`] });
      ids[name] = u.id;
      routes[u.id] = [phoneRoute('sms', phone)];
    }
    for (let weekday = 1; weekday <= 7; weekday++) {
      const r = await t.api('POST', '/api/v1/roster/shifts', { body: { user: ids['vol-a'], estate: ESTATE, weekday, start: '00:00', end: '24:00' } });
      expect(r.status).toBe(201);
    }
    // Level 1 after 10 minutes: only "every notification failed" can bring it sooner. No quiet hours.
    const s = await t.api('PUT', `/api/v1/estates/${ESTATE}/alert-settings`, { body: { escalation: { ackMinutes: [10, 20, 30], renotifyMinutes: 0 }, quietHours: { maxSeverity: 0 } } });
    expect(s.status, JSON.stringify(s.json)).toBe(200);
    gw = await t.connect(await t.provision(ESTATE, 'gw-1'));
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await provider?.close();
  });

  async function forceDoor(device: string, edge?: Record<string, unknown>): Promise<{ alertId: string; sentAt: number }> {
    const sentAt = Date.now();
    const e = { ...makeEvent({ estate: ESTATE, gateway: 'gw-1', device, seq: seq++ }), ...(edge ? { edge } : {}) };
    await gw.publishAsync(topics.event(ESTATE, 'gw-1', device), JSON.stringify(e), { qos: 1 });
    let alertId = '';
    await waitFor(async () => {
      const r = await t.api('GET', `/api/v1/alerts?estate=${ESTATE}`);
      const a = (r.json.items as Array<{ id: string; device: string }>).find((x) => x.device === device);
      alertId = a?.id ?? '';
      return alertId !== '';
    }, 5_000);
    return { alertId, sentAt };
  }

  it('sends a forced door\'s level-0 notification within a second, and the alert view shows it, masked', async () => {
    const got = new Promise<number>((resolve) => (provider.onDelivery = (r) => r.to === '13800138000' && resolve(r.at)));
    const { alertId, sentAt } = await forceDoor('door-1');
    const deliveredAt = await got;
    expect(deliveredAt - sentAt).toBeLessThan(1_000);
    expect(provider.accepted.at(-1)!.text).toContain('枫林苑');
    expect(provider.accepted.at(-1)!.text).toContain('门被强行打开');
    // Only the on-duty volunteer at level 0.
    expect(provider.accepted.filter((a) => a.to === '13900139000')).toEqual([]);

    await waitFor(async () => ((await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Array<{ state: string }>)[0]?.state === 'sent', 3_000);
    const list = (await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Array<Record<string, unknown>>;
    expect(list).toEqual([
      expect.objectContaining({ alertId, level: 0, userId: ids['vol-a'], userName: 'vol-a', channelId: 'sms', channelType: 'http-test', to: '138****8000', state: 'sent', attempts: 1, atEdge: false, error: null }),
    ]);
    expect(list[0]!.providerId).toBe(`msg-${String(list[0]!.id)}`);
    const detail = await t.api('GET', `/api/v1/alerts/${alertId}`);
    expect(detail.json.notifications).toEqual(list);
    // Scoped like the alert: a volunteer of another estate gets "not found".
    const other = await t.addUser({ name: 'vol-x', role: 'volunteer', scopes: ['estate:elsewhere'] });
    expect((await t.api('GET', `/api/v1/alerts/${alertId}/notifications`, { token: other.token })).status).toBe(404);
    // The number never appears whole, in REST answers or in the logs.
    expect(JSON.stringify(detail.json)).not.toContain('13800138000');
    expect(JSON.stringify(lines)).not.toContain('13800138000');
    expect(await t.metric('rb_notify_sent_total', { channel_type: 'http-test' })).toBeGreaterThanOrEqual(1);
  });

  it('a door the gateway texted about at the edge: the hub records it and does not text the same person again', async () => {
    const before = provider.accepted.length;
    const notifiedAt = Date.now() - 5_000;
    const { alertId } = await forceDoor('door-3', { notifiedAt, channel: 'gammu', rule: 'door.forced', to: [ids['vol-a']] });
    let list: Array<Record<string, unknown>> = [];
    await waitFor(async () => {
      list = (await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Array<Record<string, unknown>>;
      return list.length === 2;
    }, 5_000);
    expect(list.map((n) => [n.userName, n.channelId, n.to, n.state, n.atEdge, n.sentAt === notifiedAt ? 'at-edge-time' : n.sentAt])).toEqual([
      ['vol-a', 'edge:gw-1:gammu', 'edge', 'sent', true, 'at-edge-time'],
      ['vol-a', 'sms', '138****8000', 'skipped', false, null],
    ]);
    expect(list[1]!.error).toMatchObject({ code: 'RB_ERR_NOTIFY_NOT_NEEDED' });
    await new Promise((r) => setTimeout(r, 300));
    expect(provider.accepted.length).toBe(before);
  });

  it('escalates at once when every notification of the level failed, audited, and notifies the next level once each', async () => {
    // Exactly level 0's two attempts fail (a failAll with a recover() after seeing level 1 raced the
    // level-1 sends under load: both of vol-a's attempts could fail before the recover).
    provider.failNext('server-error', 2);
    const { alertId, sentAt } = await forceDoor('door-2');
    // Level 0 (vol-a) fails twice (2 attempts) → level 1 (every volunteer of the estate) at once.
    await waitFor(async () => ((await t.api('GET', `/api/v1/alerts/${alertId}`)).json.level as number) === 1, 10_000);
    expect(Date.now() - sentAt).toBeLessThan(10_000); // not the 10 minutes of ackMinutes[0]
    await waitFor(async () => {
      const list = (await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Array<{ level: number; state: string }>;
      return list.filter((n) => n.level === 1 && n.state === 'sent').length === 2;
    }, 10_000);
    const list = (await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Array<{ id: string; level: number; userName: string; state: string; attempts: number; error: { code: string } | null }>;
    expect(list.map((n) => [n.level, n.userName, n.state])).toEqual([
      [0, 'vol-a', 'failed'],
      [1, 'vol-a', 'sent'],
      [1, 'vol-b', 'sent'],
    ]);
    expect(list[0]).toMatchObject({ attempts: 2, error: { code: 'RB_ERR_NOTIFY_UNAVAILABLE' } });
    for (const n of list) expect(provider.deliveries.get(n.id) ?? 0).toBe(n.state === 'sent' ? 1 : 0);
    const audit = await t.api('GET', `/api/v1/audit?action=alert.escalate`);
    expect(JSON.stringify(audit.json)).toContain(`alert:${alertId}`);
    expect(await t.metric('rb_notify_escalated_total')).toBe(1);
  });
});
