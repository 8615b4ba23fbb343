import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics } from '../../protocol/index.js';
import { localTime } from '../../lib/zoned.js';
import { gammuProvider, startGammuSmsd, type GammuSmsd } from '../support/gammu.js';
import { makeEvent, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { startPushService, type PushService } from '../support/providers/push-service.js';
import { wecomRobotFake } from '../support/providers/wecom-robot.js';
import type { HttpFake } from '../support/providers/http-fake.js';

/**
 * Issue 17, "Must show" 1: a forced door at 03:00 with the volunteer's page closed. Real parts
 * only: the hub with its shipped channel plugins, the real gammu-smsd on gammu's fake phone, a local
 * WeCom group robot server that checks requests as WeCom documents them, and a local push service
 * that checks VAPID and decrypts the aes128gcm payload. The hub's clock is put at 03:xx by its time
 * zone (an `Etc/GMT±N` zone where it is 03:00–03:59 now), with the volunteer's own quiet hours
 * 22:00–07:00: a severity-3 alert goes through them.
 */

/** The Etc zone in which the local hour is 3 right now (Etc/GMT+N is UTC−N). */
function zoneAtThreeAm(now = Date.now()): string {
  // Etc/GMT+n is UTC−n, and the zones only go from Etc/GMT-14 to Etc/GMT+12: past +12 (16:00–23:59
  // UTC) go round the other way (a day ahead). The test failed at 16:xx UTC on Etc/GMT+13.
  let n = new Date(now).getUTCHours() - 3;
  if (n > 12) n -= 24;
  return n === 0 ? 'Etc/GMT' : n > 0 ? `Etc/GMT+${n}` : `Etc/GMT${n}`;
}

describe('a forced door at 03:00 reaches the volunteer whose page is closed: SMS, WeCom robot, Web Push; SMS reply 1 acknowledges', () => {
  const ESTATE = 'xingfuli';
  const PHONE = '13800138000';
  const ROBOT_KEY = 'robot-key-7d1f0c2a';
  const timeZone = zoneAtThreeAm();
  let smsd: GammuSmsd;
  let robot: HttpFake;
  let pushService: PushService;
  let t: TestHub;
  let gw: MqttClient;
  let vol: { id: string; token: string };

  beforeAll(async () => {
    smsd = await startGammuSmsd();
    robot = await wecomRobotFake({ key: ROBOT_KEY }).start();
    pushService = await startPushService();
    t = await startTestHub({
      config: {
        timeZone,
        notify: {
          channels: [
            { id: 'modem', type: 'gammu', smsdrc: smsd.smsdrc, pidFile: smsd.pidFile, pollMs: 100 },
            { id: 'robot', type: 'wecom-robot', key: ROBOT_KEY, baseUrl: robot.baseUrl },
            { id: 'push', type: 'webpush', subject: 'mailto:duty@xingfu.example.org' },
          ],
        },
      },
    });
    await t.hub.registry.addEstate(ESTATE, { name: '幸福里' });
    vol = await t.addUser({ name: 'wang', displayName: '王阿姨', role: 'volunteer', scopes: [`estate:${ESTATE}`] });
    for (let weekday = 1; weekday <= 7; weekday++) {
      expect((await t.api('POST', '/api/v1/roster/shifts', { body: { user: vol.id, estate: ESTATE, weekday, start: '00:00', end: '24:00' } })).status).toBe(201);
    }
    // Her phone on the modem, her own quiet hours over the night, the estate's robot, and her phone view's push subscription.
    const point = await t.api('POST', `/api/v1/users/${vol.id}/contacts`, { body: { kind: 'phone', channelId: 'modem', address: PHONE } });
    expect(point.status, JSON.stringify(point.json)).toBe(201);
    const policy = await t.api('PUT', `/api/v1/users/${vol.id}/contact-policy`, { body: { quietHours: { from: '22:00', to: '07:00' }, lang: 'zh-CN' } });
    expect(policy.status, JSON.stringify(policy.json)).toBe(200);
    const robotRow = await t.api('POST', '/api/v1/notify/robots', { body: { scope: `estate:${ESTATE}`, channelId: 'robot' } });
    expect(robotRow.status, JSON.stringify(robotRow.json)).toBe(201);
    const sub = pushService.subscribe();
    const subscribed = await t.api('POST', '/api/v1/me/push-subscriptions', { token: vol.token, body: { endpoint: sub.endpoint, keys: sub.keys } });
    expect(subscribed.status, JSON.stringify(subscribed.json)).toBe(201);
    gw = await t.connect(await t.provision(ESTATE, 'gw-1'));
  }, 90_000);

  afterAll(async () => {
    await t?.stop();
    await pushService?.close();
    await robot?.close();
    await smsd?.stop();
  });

  it('tells her on all three within 5 s, the delivery rows say so, and her reply "1" acknowledges, audited with the channel', async () => {
    expect(Math.floor(localTime(Date.now(), timeZone).minute / 60)).toBe(3);
    const sentAt = Date.now();
    const event = makeEvent({ estate: ESTATE, gateway: 'gw-1', device: 'gate-3' });
    await gw.publishAsync(topics.event(ESTATE, 'gw-1', 'gate-3'), JSON.stringify(event), { qos: 1 });

    const sms = gammuProvider(smsd);
    const allThere = () => sms.accepted.some((m) => m.to.endsWith(PHONE)) && robot.accepted.length > 0 && pushService.received.length > 0;
    expect(await waitFor(allThere, 5_000), 'SMS file, robot call and push message within 5 s').toBe(true);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    expect(sms.accepted.find((m) => m.to.endsWith(PHONE))!.text).toContain('幸福里');
    expect(robot.accepted[0]!.text).toContain('幸福里');
    const push = JSON.parse(pushService.received[0]!.plaintext) as { alertId: string; title: string; ackUrl?: string };
    expect(pushService.received[0]!.urgency).toBe('high');

    const alertId = push.alertId;
    let rows: Array<{ channelId: string; state: string; userId: string | null; to: string; sentAt: number | null }> = [];
    await waitFor(async () => {
      rows = (await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as typeof rows;
      return rows.length === 3 && rows.every((r) => r.state === 'sent' || r.state === 'delivered');
    }, 5_000);
    expect(rows.map((r) => [r.channelId, r.userId, r.state]).sort()).toEqual(
      [
        ['modem', vol.id, 'sent'],
        ['push', vol.id, 'sent'],
        ['robot', null, 'sent'],
      ].sort(),
    );
    expect(JSON.stringify(rows)).not.toContain(PHONE);

    // She answers the text with "1" from her phone: the daemon puts it in its inbox, the hub reads it.
    await smsd.receive(`+86${PHONE}`, '1');
    expect(
      await waitFor(async () => (await t.api('GET', `/api/v1/alerts/${alertId}`)).json.state === 'acknowledged', 15_000),
      'the reply acknowledged the alert',
    ).toBe(true);
    const alert = (await t.api('GET', `/api/v1/alerts/${alertId}`)).json;
    expect(alert.acknowledgedBy).toBe(`user:${vol.id}`);
    const audit = await t.api('GET', `/api/v1/audit?estate=${ESTATE}&action=alert.ack`);
    expect(audit.json.items).toEqual([expect.objectContaining({ actor: `user:${vol.id}`, action: 'alert.ack', target: `alert:${alertId}`, detail: expect.objectContaining({ channel: 'sms', channelId: 'modem', changed: true }) })]);
  }, 60_000);
});
