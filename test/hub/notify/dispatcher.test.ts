import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Channel } from '../../../hub/notify/channel.js';
import { createDispatcher, type AlertFacts, type Dispatcher } from '../../../hub/notify/dispatcher.js';
import { createNotifyMetrics } from '../../../hub/notify/metrics.js';
import { createNotifier, type Notifier } from '../../../hub/notify/notifier.js';
import type { ContactRoute } from '../../../hub/notify/types.js';
import { HTTP_TEST_PLUGIN, PROVIDER_TOKEN, phoneRoute, startNotifyProvider, staticContactBook, type NotifyProvider } from '../../support/notify-provider.js';
import { sleep, waitFor } from '../../support/hub.js';
import { sqliteFactory, type DatabaseUnderTest } from '../platform/support.js';

/**
 * The dispatcher against a real local provider (its own HTTP server) and a real hub database: sends
 * after the queueing commit, retries 500 / no answer / 429 with backoff (Retry-After honoured), never
 * delivers twice, fails for good on a refusal or after the last attempt, tries the person's fallback
 * route, escalates at once when the whole level failed, keeps to the rate limit and the fan-out cap.
 */
describe('notification dispatcher', () => {
  let t: DatabaseUnderTest;
  let provider: NotifyProvider;
  let notifier: Notifier;
  let dispatcher: Dispatcher | undefined;
  let channels: Map<string, Channel>;
  let alert: AlertFacts;
  let escalations: Array<{ alertId: string; reason: string; fromLevel: number }>;
  let registry: Registry;
  const log = pino({ level: 'silent' });

  const routes: Record<string, ContactRoute[]> = {};
  const groups: Record<string, ContactRoute[]> = {};

  function setup(opts: { perMinute?: number; maxPerAlert?: number; attempts?: number; voiceLevels?: number[] } = {}) {
    const make = (id: string, perMinute = opts.perMinute ?? 600) =>
      HTTP_TEST_PLUGIN.create(id, HTTP_TEST_PLUGIN.config.parse({ url: provider.url, token: PROVIDER_TOKEN, perMinute }), { log });
    channels = new Map([
      ['sms', make('sms')],
      ['voice', make('voice')],
      ['robot', make('robot')],
    ]);
    notifier = createNotifier({
      db: t.db,
      contactBook: staticContactBook(routes, groups),
      channelType: (id) => channels.get(id)?.type,
      maxPerAlert: opts.maxPerAlert ?? 100,
      voiceLevels: opts.voiceLevels ?? [],
      nameOf: (id) => ({ u1: '张三', u2: '李四' })[id],
      log,
    });
    registry = new Registry();
    dispatcher = createDispatcher({
      outbox: notifier.outbox,
      notifier,
      channels,
      alert: async (id) => (id === alert.id ? alert : undefined),
      ackLinks: { url: async (alertId, userId, channelId) => `http://hub.test/a/${alertId}.${userId}.${channelId}` },
      escalateNow: async (alertId, reason, fromLevel) => void escalations.push({ alertId, reason, fromLevel }),
      config: { sendTimeoutMs: 300, retry: { baseMs: 50, maxMs: 400, attempts: opts.attempts ?? 4 }, pollMs: 200 },
      timeZone: 'Asia/Shanghai',
      metrics: createNotifyMetrics(registry, () => notifier.outbox.depth()),
      log,
    });
    notifier.onQueued(() => dispatcher!.wake());
  }

  async function queue(userIds: string[], level = 0): Promise<number> {
    const n = await t.db.transaction((trx) => notifier.queue(trx, { alertId: alert.id, estate: alert.estate, severity: alert.severity, level, userIds, at: Date.now() }));
    notifier.wake();
    return n;
  }
  const rows = () => notifier.outbox.forAlert(alert.id);

  beforeEach(async () => {
    t = await sqliteFactory();
    provider = await startNotifyProvider();
    for (const k of Object.keys(routes)) delete routes[k];
    for (const k of Object.keys(groups)) delete groups[k];
    escalations = [];
    // 2026-03-10 02:58 Shanghai.
    alert = { id: '01KA0000000000000000000001', rule: 'door.forced', severity: 3, estate: 'maple', device: 'door-3', openedAt: Date.UTC(2026, 2, 9, 18, 58), state: 'open', level: 0, estateName: '枫林苑', deviceName: '3号楼单元门' };
  });
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    await provider.close();
    await t.cleanup();
  });

  it('sends each queued row once, rendered in the route\'s language with names and the ack link, keyed by the row id', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    routes.u2 = [phoneRoute('sms', '13900139000', { lang: 'en' })];
    groups.maple = [{ channelId: 'robot', address: { kind: 'group' }, lang: 'zh-CN', fallback: false }];
    setup();
    await dispatcher!.start();
    expect(await queue(['u1', 'u2'])).toBe(3);
    await waitFor(() => provider.accepted.length === 3, 3_000);
    await dispatcher!.idle();
    const byTo = new Map(provider.accepted.map((a) => [a.to, a]));
    expect(byTo.get('13800138000')!.text).toBe(`枫林苑 3号楼单元门 02:58 门被强行打开，3级告警。 回复 1 或点此确认：http://hub.test/a/${alert.id}.u1.sms`);
    expect(byTo.get('13900139000')!.text).toBe(`枫林苑 3号楼单元门 at 02:58: Door forced open, severity 3. Reply 1 or tap to acknowledge: http://hub.test/a/${alert.id}.u2.sms`);
    expect(byTo.get('group')!.text).not.toContain('http://hub.test/a/'); // a group has no one person to acknowledge as
    const all = await rows();
    expect(all.map((n) => n.state)).toEqual(['sent', 'sent', 'sent']);
    for (const n of all) {
      expect(provider.deliveries.get(n.id)).toBe(1);
      expect(n.providerId).toBe(`msg-${n.id}`);
      expect(n.attempts).toBe(1);
    }
    const views = await notifier.views(alert.id);
    expect(views.map((v) => [v.userName, v.to, v.state])).toEqual([
      ['张三', '138****8000', 'sent'],
      ['李四', '139****9000', 'sent'],
      [null, 'robot', 'sent'],
    ]);
    expect(JSON.stringify(views)).not.toContain('13800138000');
    expect(await registry.getSingleMetricAsString('rb_notify_sent_total')).toContain('rb_notify_sent_total{channel_type="http-test",state="sent"} 3');
  });

  it('retries a 500 and an unanswered request with backoff, and delivers once after recovery', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    setup();
    provider.failNext('server-error', 2);
    provider.failNext('timeout');
    await dispatcher!.start();
    await queue(['u1']);
    await waitFor(async () => (await rows())[0]?.state === 'sent', 10_000);
    const [n] = await rows();
    expect(n).toMatchObject({ state: 'sent', attempts: 4 });
    expect(provider.requests.get(n!.id)).toBe(4);
    expect(provider.deliveries.get(n!.id)).toBe(1);
    const metrics = await registry.getSingleMetricAsString('rb_notify_failed_total');
    expect(metrics).toContain('code="RB_ERR_NOTIFY_UNAVAILABLE",final="false"} 2');
    expect(metrics).toContain('code="RB_ERR_NOTIFY_TIMEOUT",final="false"} 1');
  });

  it('waits as long as a 429\'s Retry-After says', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    setup();
    provider.failNext('rate-limited');
    await dispatcher!.start();
    const t0 = Date.now();
    await queue(['u1']);
    await waitFor(() => provider.accepted.length === 1, 5_000);
    const [n] = await rows();
    expect(provider.deliveredAt.get(n!.id)! - t0).toBeGreaterThanOrEqual(950);
    expect(provider.requests.get(n!.id)).toBe(2);
  });

  it('fails a refused row at once, tries the person\'s fallback route, and does not escalate while that works', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000'), phoneRoute('voice', '13800138000', { fallback: true })];
    setup();
    provider.failNext('rejected');
    await dispatcher!.start();
    expect(await queue(['u1'])).toBe(1); // the fallback is not queued with the others
    await waitFor(async () => (await rows()).some((n) => n.fallback && n.state === 'sent'), 5_000);
    const all = await rows();
    expect(all.map((n) => [n.channelId, n.state, n.attempts, n.error?.code ?? null])).toEqual([
      ['sms', 'failed', 1, 'RB_ERR_NOTIFY_REJECTED'],
      ['voice', 'sent', 1, null],
    ]);
    expect(escalations).toEqual([]);
  });

  it('calls by voice at once at a level that says so, and only as a fallback at the others', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000'), phoneRoute('voice', '13800138000', { fallback: true })];
    setup({ voiceLevels: [2] });
    await dispatcher!.start();
    expect(await queue(['u1'], 0)).toBe(1);
    expect(await queue(['u1'], 2)).toBe(2);
    await waitFor(() => provider.accepted.length === 3, 3_000);
    await dispatcher!.idle();
    expect((await rows()).map((n) => [n.level, n.channelId, n.fallback, n.state])).toEqual([
      [0, 'sms', false, 'sent'],
      [2, 'sms', false, 'sent'],
      [2, 'voice', true, 'sent'],
    ]);
  });

  it('fails after the last attempt and escalates at once when every row of the level failed (fallbacks included)', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000'), phoneRoute('voice', '13800138000', { fallback: true })];
    routes.u2 = [phoneRoute('sms', '13900139000')];
    setup({ attempts: 3 });
    provider.failAll('server-error');
    await dispatcher!.start();
    await queue(['u1', 'u2']);
    await waitFor(() => escalations.length > 0, 10_000);
    await dispatcher!.idle();
    const all = await rows();
    expect(all.map((n) => [n.userId, n.channelId, n.state, n.attempts])).toEqual([
      ['u1', 'sms', 'failed', 3],
      ['u2', 'sms', 'failed', 3],
      ['u1', 'voice', 'failed', 3],
    ]);
    expect(escalations).toEqual([{ alertId: alert.id, reason: 'every notification of level 0 failed', fromLevel: 0 }]);
    expect([...provider.deliveries.values()]).toEqual([]);
  });

  it('keeps to a channel\'s messages per minute', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    routes.u2 = [phoneRoute('sms', '13900139000')];
    routes.u3 = [phoneRoute('sms', '13700137000')];
    setup({ perMinute: 2 });
    await dispatcher!.start();
    await queue(['u1', 'u2', 'u3']);
    await waitFor(() => provider.accepted.length === 2, 3_000);
    await sleep(600);
    expect(provider.accepted).toHaveLength(2);
    expect((await rows()).map((n) => n.state).sort()).toEqual(['queued', 'sent', 'sent']);
  });

  it('records rows over the fan-out cap as skipped, and skips rows of an alert acknowledged before they went', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    routes.u2 = [phoneRoute('sms', '13900139000')];
    routes.u3 = [phoneRoute('sms', '13700137000')];
    setup({ maxPerAlert: 2 });
    alert.state = 'acknowledged';
    await dispatcher!.start();
    expect(await queue(['u1', 'u2', 'u3'])).toBe(2);
    await dispatcher!.idle();
    const all = await rows();
    expect(all.map((n) => [n.userId, n.state, n.error?.code])).toEqual([
      ['u1', 'skipped', 'RB_ERR_NOTIFY_NOT_NEEDED'],
      ['u2', 'skipped', 'RB_ERR_NOTIFY_NOT_NEEDED'],
      ['u3', 'skipped', 'RB_ERR_NOTIFY_CAPPED'],
    ]);
    expect(provider.accepted).toEqual([]);
  });

  it('an edge report: the person told by the gateway is not texted again at that level, and the view says "edge"', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    routes.u2 = [phoneRoute('sms', '13900139000')];
    setup();
    await queue(['u1']); // queued before the report came (not started: nothing sent)
    expect(await notifier.recordAtEdge(alert.id, ['u1', 'u2'], 'gw-1-modem', Date.now())).toBe(2);
    expect(await notifier.recordAtEdge(alert.id, ['u1'], 'gw-1-modem', Date.now())).toBe(0); // reported twice: once
    expect(await queue(['u1', 'u2'])).toBe(0); // the escalation's queueing after the report
    expect(await queue(['u1', 'u2'], 1)).toBe(2); // the next level is not the edge's business
    await dispatcher!.start();
    await waitFor(() => provider.accepted.length === 2, 3_000);
    await dispatcher!.idle();
    const views = await notifier.views(alert.id);
    expect(views.map((v) => [v.level, v.userId, v.channelId, v.to, v.state, v.atEdge])).toEqual([
      [0, 'u1', 'sms', '138****8000', 'skipped', false],
      [0, 'u1', 'gw-1-modem', 'edge', 'sent', true],
      [0, 'u2', 'gw-1-modem', 'edge', 'sent', true],
      [0, 'u2', 'sms', '139****9000', 'skipped', false],
      [1, 'u1', 'sms', '138****8000', 'sent', false],
      [1, 'u2', 'sms', '139****9000', 'sent', false],
    ]);
  });

  it('sends a test message through the outbox, with no alert and no ack link', async () => {
    setup();
    await dispatcher!.start();
    const { id } = await notifier.sendTest(phoneRoute('sms', '13800138000'), 'u1', 'user:admin');
    await waitFor(() => provider.accepted.length === 1, 3_000);
    expect(provider.accepted[0]).toMatchObject({ to: '13800138000', idempotencyKey: id });
    expect(provider.accepted[0]!.text).toMatch(/^红管家测试消息 \d\d:\d\d：此渠道可以联系到您，无需回复。$/);
    await dispatcher!.idle();
    const row = await t.db.db.selectFrom('notifications').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'sent', user_id: 'u1', channel_id: 'sms', level: 0 });
    expect(row.alert_id).toMatch(/^test:/);
    await expect(notifier.sendTest(phoneRoute('nope', '13800138000'), 'u1', 'user:admin')).rejects.toThrow('no channel nope');
  });

  it('sends a row a crash left sending again with the same id: the provider that had it delivers nothing new', async () => {
    routes.u1 = [phoneRoute('sms', '13800138000')];
    routes.u2 = [phoneRoute('sms', '13900139000')];
    setup();
    await queue(['u1', 'u2']); // not started: nothing sent
    const [a, b] = await rows();
    // The crashed hub had claimed both and its request for `a` had reached the provider.
    expect(await notifier.outbox.claim(a!.id, Date.now())).toBe(true);
    expect(await notifier.outbox.claim(b!.id, Date.now())).toBe(true);
    await channels.get('sms')!.send({ id: a!.id, to: a!.address!, lang: 'zh-CN', alertId: alert.id, severity: 3, title: 't', text: 'x', params: { estate: '', device: '', event: '', time: '', reply: '1' } }, { signal: AbortSignal.timeout(2_000) });
    await dispatcher!.start();
    await waitFor(async () => (await rows()).every((n) => n.state === 'sent'), 5_000);
    expect(provider.requests.get(a!.id)).toBe(2);
    expect(provider.deliveries.get(a!.id)).toBe(1);
    expect(provider.deliveries.get(b!.id)).toBe(1);
    expect((await rows()).map((n) => n.attempts)).toEqual([2, 2]);
  });
});
