import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import webpush from 'web-push';
import { topics } from '../../protocol/index.js';
import { captureLog, makeEvent, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { startAliyunProvider, type AliyunProvider } from '../support/providers/aliyun.js';
import { dingtalkRobotFake } from '../support/providers/dingtalk-robot.js';
import type { HttpFake } from '../support/providers/http-fake.js';
import { startPushService, type PushService } from '../support/providers/push-service.js';
import { webhookFake } from '../support/providers/webhook.js';
import { wecomRobotFake } from '../support/providers/wecom-robot.js';

/**
 * Issue 17, "Must show" 5 (the secrets half): provider secrets and robot keys never appear in the
 * hub's logs (captured at trace level) or in its REST answers and metrics, not even when every
 * provider refuses them. Real hub, shipped plugins, local provider servers that check signatures
 * and refuse the hub's secrets (they were set up with others), and a push service that accepts.
 */
describe('notification secrets stay secret', () => {
  const ESTATE = 'laurel';
  const SECRETS = {
    robotKey: 'wecom-robot-key-s3cr3t-0001',
    dingToken: 'ding-access-token-s3cr3t-0002',
    dingSecret: 'SECding-sign-s3cr3t-0003',
    aliyunSecret: 'aliyun-access-key-s3cr3t-0004',
    aliyunInbound: 'aliyun-inbound-token-s3cr3t-0005',
    hookSecret: 'webhook-shared-s3cr3t-0006-abcdef',
  };
  const vapid = webpush.generateVAPIDKeys();
  const { log, lines } = captureLog('trace');
  let t: TestHub;
  let gw: MqttClient;
  let robot: HttpFake;
  let ding: HttpFake;
  let hook: HttpFake & { url: () => string };
  let aliyun: AliyunProvider;
  let pushService: PushService;

  beforeAll(async () => {
    // Every provider knows other credentials than the hub's: each refuses, and the refusal is recorded.
    robot = await wecomRobotFake({ key: 'the-right-robot-key-000' }).start();
    ding = await dingtalkRobotFake({ accessToken: 'the-right-ding-token', secret: 'SECthe-right-ding-secret' }).start();
    hook = webhookFake({ secret: 'the-right-webhook-secret-000000' });
    await hook.start();
    aliyun = await startAliyunProvider({ product: 'sms', accessKeyId: 'LTAI5tRightKey', accessKeySecret: 'the-right-aliyun-secret', signNames: ['红管家'], templates: { SMS_1: '${estate}${device}${time}${event}' } });
    pushService = await startPushService();
    t = await startTestHub({
      log,
      config: {
        notify: {
          retry: { baseMs: 50, maxMs: 100, attempts: 1 },
          sendTimeoutMs: 2_000,
          channels: [
            { id: 'robot', type: 'wecom-robot', key: SECRETS.robotKey, baseUrl: robot.baseUrl },
            { id: 'ding', type: 'dingtalk-robot', accessToken: SECRETS.dingToken, secret: SECRETS.dingSecret, baseUrl: ding.baseUrl },
            { id: 'hook', type: 'webhook', url: hook.url(), secret: SECRETS.hookSecret },
            { id: 'sms', type: 'sms-aliyun', accessKeyId: 'LTAI5tRightKey', accessKeySecret: SECRETS.aliyunSecret, signName: '红管家', templateCode: 'SMS_1', endpoint: aliyun.url, inboundToken: SECRETS.aliyunInbound },
            { id: 'push', type: 'webpush', subject: 'mailto:ops@laurel.example.org', publicKey: vapid.publicKey, privateKey: vapid.privateKey },
          ],
        },
      },
    });
    await t.hub.registry.addEstate(ESTATE, { name: '桂苑' });
    const vol = await t.addUser({ name: 'zhao', role: 'volunteer', scopes: [`estate:${ESTATE}`] });
    for (let weekday = 1; weekday <= 7; weekday++) await t.api('POST', '/api/v1/roster/shifts', { body: { user: vol.id, estate: ESTATE, weekday, start: '00:00', end: '24:00' } });
    expect((await t.api('POST', `/api/v1/users/${vol.id}/contacts`, { body: { kind: 'phone', channelId: 'sms', address: '13700137000' } })).status).toBe(201);
    for (const channelId of ['robot', 'ding', 'hook']) expect((await t.api('POST', '/api/v1/notify/robots', { body: { scope: `estate:${ESTATE}`, channelId } })).status).toBe(201);
    const sub = pushService.subscribe(vapid.publicKey);
    expect((await t.api('POST', '/api/v1/me/push-subscriptions', { token: vol.token, body: { endpoint: sub.endpoint, keys: sub.keys } })).status).toBe(201);
    gw = await t.connect(await t.provision(ESTATE, 'gw-1'));
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await Promise.all([robot?.close(), ding?.close(), hook?.close(), aliyun?.close(), pushService?.close()]);
  });

  it('the refusals are recorded, and no log line, REST answer or metric carries a secret', async () => {
    await gw.publishAsync(topics.event(ESTATE, 'gw-1', 'gate-1'), JSON.stringify(makeEvent({ estate: ESTATE, gateway: 'gw-1', device: 'gate-1' })), { qos: 1 });
    let alertId = '';
    await waitFor(async () => {
      alertId = ((await t.api('GET', `/api/v1/alerts?estate=${ESTATE}`)).json.items as Array<{ id: string }> | undefined)?.[0]?.id ?? '';
      return alertId !== '';
    }, 10_000);
    type Row = { channelId: string; state: string; error: { code: string; message: string } | null };
    let rows: Row[] = [];
    await waitFor(async () => {
      rows = (await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Row[];
      return rows.length === 5 && rows.every((r) => ['sent', 'delivered', 'failed'].includes(r.state));
    }, 15_000);
    const byChannel = Object.fromEntries(rows.map((r) => [r.channelId, r]));
    // Refused for their credentials, as the providers answer; the push went through.
    for (const id of ['robot', 'ding', 'hook', 'sms']) expect(byChannel[id], id).toMatchObject({ state: 'failed', error: { code: 'RB_ERR_NOTIFY_AUTH' } });
    expect(byChannel.push!.state).toBe('sent');
    expect(robot.refused.length + ding.refused.length + hook.refused.length + aliyun.refused.length).toBeGreaterThanOrEqual(4);

    const answers = [
      await t.api('GET', `/api/v1/alerts/${alertId}/notifications`),
      await t.api('GET', `/api/v1/alerts/${alertId}`),
      await t.api('GET', '/api/v1/notify/channels'),
      await t.api('GET', '/api/v1/notify/robots'),
      await t.api('GET', '/api/v1/notify/webpush/key'),
      await t.api('GET', `/api/v1/audit?estate=${ESTATE}`),
    ].map((r) => JSON.stringify(r.json));
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    const logs = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(lines.length).toBeGreaterThan(20);
    for (const [name, secret] of [...Object.entries(SECRETS), ['vapidPrivateKey', vapid.privateKey]]) {
      for (const [where, text] of [['logs', logs], ['REST', answers.join('\n')], ['metrics', metrics]] as const) {
        expect(text.includes(secret!), `${name} appears in the ${where}`).toBe(false);
      }
    }
    // The public key is what a browser needs; it is answered.
    expect(answers[4]).toContain(vapid.publicKey);
  }, 60_000);
});
