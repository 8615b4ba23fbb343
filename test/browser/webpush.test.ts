import { join } from 'node:path';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAckLinks } from '../../hub/notify/ack-links.js';
import { WebPushConfig, webpushPlugin, type WebPushPayload } from '../../hub/notify/channels/webpush.js';
import { createPushSubscriptions } from '../../hub/notify/webpush-store.js';
import { openDatabase, type HubDatabase } from '../../hub/platform/db/index.js';
import { loadSigningKey } from '../../hub/people/signing-key.js';
import { message } from '../hub/notify/channel-conformance.js';
import { startPushService, type PushService, type TestSubscription } from '../support/providers/push-service.js';
import { API_TOKEN, ESTATE_A, VIEWPORTS, launchChromium, loggedIn, startWorld, type World } from './support.js';

/**
 * Issue 17, item 3: Web Push to the phone view installed as a PWA, in real Chromium against a real hub.
 * The page's 开启通知 asks for permission, registers the service worker and subscribes with the hub's
 * VAPID key; the hub keeps the subscription. The hub's webpush channel then sends a real encrypted push
 * to the local push service, which checks VAPID and decrypts it; that plaintext goes to the real service
 * worker through the DevTools protocol (ServiceWorker.deliverPushMessage), which shows the notification
 * with 确认 and 查看; 确认 POSTs to the hub's one-tap ack link and the alert is acknowledged by the
 * volunteer; 查看 opens the alert in the phone view.
 *
 * One thing is stood in for: PushManager.subscribe. Chromium makes a subscription only through
 * Google's push service (FCM), which a test cannot reach (headless Chromium refuses it outright, "permission
 * denied"); the init script answers subscribe() with a subscription of the LOCAL push service (keys
 * made by the test, as a browser makes them), and records the applicationServerKey the page passed.
 */
const log = pino({ level: 'silent' });

describe('Web Push: the phone view as a PWA', () => {
  let world: World;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let svc: PushService;
  let sub: TestSubscription;
  let hubKey = '';

  beforeAll(async () => {
    world = await startWorld([{ name: 'vol-push', role: 'volunteer', scope: `estate:${ESTATE_A}` }]);
    svc = await startPushService();
    const key = await world.hub.api('GET', '/api/v1/notify/webpush/key', { token: API_TOKEN });
    expect(key.status).toBe(200);
    hubKey = key.json.publicKey as string;
    expect(Object.keys(key.json)).toEqual(['publicKey']);
    sub = svc.subscribe(hubKey); // the push service refuses (403) any other key for it

    browser = await launchChromium();
    const opened = await loggedIn(browser, world.hub.httpUrl, 'vol-push', VIEWPORTS.phone, '/me');
    context = opened.context;
    page = opened.page;
    await context.grantPermissions(['notifications'], { origin: world.hub.httpUrl });
    await context.addInitScript(`(() => {
      const s = ${JSON.stringify({ endpoint: sub.endpoint, keys: sub.keys })};
      let made = null;
      PushManager.prototype.subscribe = async function (opts) {
        const key = new Uint8Array(opts.applicationServerKey);
        window.__subscribedWith = [...key];
        made = { endpoint: s.endpoint, expirationTime: null, options: { userVisibleOnly: true, applicationServerKey: key.slice().buffer }, toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: s.keys }), unsubscribe: async () => ((made = null), true) };
        return made;
      };
      PushManager.prototype.getSubscription = async () => made;
    })()`);
    await page.reload();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await world?.stop();
  });

  it('开启通知 registers the service worker, subscribes with the hub key and registers the subscription with the hub', async () => {
    const section = page.locator('[data-testid=push]');
    await section.waitFor({ timeout: 15_000 });
    await expect.poll(() => section.getAttribute('data-state'), { timeout: 10_000 }).toBe('off');
    expect(await section.textContent()).toContain('手机通知');
    await page.getByRole('button', { name: '开启通知' }).click();
    await expect.poll(() => section.getAttribute('data-state'), { timeout: 10_000 }).toBe('on');

    const sw = await page.evaluate(`navigator.serviceWorker.ready.then((reg) => ({ script: reg.active?.scriptURL, scope: reg.scope, permission: Notification.permission }))`);
    expect(sw).toEqual({ script: `${world.hub.httpUrl}/sw.js`, scope: `${world.hub.httpUrl}/`, permission: 'granted' });
    const usedKey = (await page.evaluate('window.__subscribedWith')) as number[] | undefined;
    expect(Buffer.from(usedKey ?? []).toString('base64url')).toBe(hubKey);

    const token = (await page.evaluate(`JSON.parse(localStorage.getItem('rb.session') ?? '{}').token`)) as string;
    const mine = await fetch(`${world.hub.httpUrl}/api/v1/me/push-subscriptions`, { headers: { authorization: `Bearer ${token}` } });
    expect(mine.status).toBe(200);
    const items = ((await mine.json()) as { items: { endpoint: string; lastSuccessAt: number | null }[] }).items;
    expect(items.map((i) => i.endpoint)).toEqual([sub.endpoint]);
    expect(JSON.stringify(items)).not.toContain(sub.keys.auth);
    // The API token is not a person: it keeps no subscriptions.
    expect((await world.hub.api('GET', '/api/v1/me/push-subscriptions', { token: API_TOKEN })).status).toBe(403);
  });

  it('a real encrypted push decrypts at the push service; delivered to the service worker it shows 确认 and 查看; 确认 acknowledges, 查看 opens the alert', async () => {
    // The hub's own database: the subscription the page registered, and the VAPID pair the hub made.
    let db: HubDatabase | undefined;
    let payload: WebPushPayload;
    // A real alert of the volunteer's estate, and its signed one-tap link (the hub's key, the hub's route).
    expect((await world.gate.send('forced', { door: 1 })).status).toBe(200);
    let alertId = '';
    await expect
      .poll(async () => {
        const list = (await world.hub.api('GET', `/api/v1/alerts?estate=${ESTATE_A}`, { token: API_TOKEN })).json as { items: { id: string; rule: string; state: string }[] };
        alertId = list.items.find((a) => a.rule === 'door.forced' && a.state !== 'resolved')?.id ?? '';
        return alertId;
      }, { timeout: 20_000 })
      .not.toBe('');
    let ackUrl = '';
    try {
      db = await openDatabase({ file: join(world.hubDir, 'hub.db'), log });
      const hubDb = db;
      const links = createAckLinks({ key: () => loadSigningKey(hubDb), publicUrl: world.hub.httpUrl, ttl: '1h' });
      const subs = createPushSubscriptions({ db });
      await subs.load();
      const users = (await world.hub.api('GET', '/api/v1/users', { token: API_TOKEN })).json as { items: { id: string; name: string }[] };
      const volId = users.items.find((u) => u.name === 'vol-push')!.id;
      ackUrl = await links.url(alertId, volId, 'push');
      const routes = subs.routesFor(volId, 'push', 'zh-CN');
      expect(routes.map((r) => r.address.kind === 'push' && r.address.subscription.endpoint)).toEqual([sub.endpoint]);
      const channel = webpushPlugin.create('push', WebPushConfig.parse({ subject: 'mailto:ops@red-butler.example' }), { log, db, pushSubscriptions: subs });
      const arrived = svc.next();
      await channel.send(message(routes[0]!.address, { alertId, ackUrl }), { signal: AbortSignal.timeout(10_000) });
      const got = await arrived;
      expect(got.k).toBe(hubKey);
      payload = JSON.parse(got.plaintext) as WebPushPayload;
      expect(payload).toMatchObject({ alertId, severity: 3, title: '【红管家】强行开门 · 幸福里', ackUrl, url: `/me?alert=${alertId}` });
      expect(ackUrl).toMatch(new RegExp(`^${world.hub.httpUrl}/a/`));
    } finally {
      await db?.close();
    }

    const cdp = await context.newCDPSession(page);
    const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => registrations.some((r) => r.scopeURL === `${world.hub.httpUrl}/` && !r.isDeleted), { timeout: 10_000 }).toBe(true);
    const reg = registrations.find((r) => r.scopeURL === `${world.hub.httpUrl}/` && !r.isDeleted)!;
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: world.hub.httpUrl, registrationId: reg.registrationId, data: JSON.stringify(payload) });

    const shown = () =>
      page.evaluate(`navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag, actions: n.actions.map((a) => ({ action: a.action, title: a.title })) })))`) as Promise<{ title: string; body: string; tag: string; actions: { action: string; title: string }[] }[]>;
    await expect.poll(async () => (await shown()).length, { timeout: 10_000 }).toBe(1);
    const [n] = await shown();
    expect(n).toEqual({ title: payload.title, body: payload.body, tag: `alert:${alertId}`, actions: [{ action: 'ack', title: '确认' }, { action: 'open', title: '查看' }] });

    // The notification's buttons, as the browser would dispatch them to the worker.
    const worker = context.serviceWorkers().find((w) => w.url().endsWith('/sw.js')) ?? (await context.waitForEvent('serviceworker'));
    const click = (action: string) =>
      worker.evaluate(`self.registration.getNotifications().then(([note]) => void self.dispatchEvent(new NotificationEvent('notificationclick', { notification: note, action: ${JSON.stringify(action)} })))`);
    await click('ack');
    const alertNow = async () => (await world.hub.api('GET', `/api/v1/alerts/${alertId}`, { token: API_TOKEN })).json as { state: string; acknowledgedBy?: string; acknowledgedByName?: string };
    await expect.poll(async () => (await alertNow()).state, { timeout: 10_000 }).toBe('acknowledged');
    expect(JSON.stringify(await alertNow())).toContain('vol-push');
    // Audited with the channel it came through: the notification's action.
    const audit = await world.hub.api('GET', `/api/v1/audit?action=alert.ack`, { token: API_TOKEN });
    expect((audit.json.items as Array<{ target: string; detail: { channel?: string } }>).find((a) => a.target === `alert:${alertId}`)?.detail.channel).toBe('push');
    await expect.poll(async () => (await shown()).map((x) => x.title), { timeout: 10_000 }).toEqual([`✓ 已确认 · ${payload.title}`]);

    await click('open');
    await page.waitForURL(`**/me?alert=${alertId}`, { timeout: 10_000 });
  });
});
