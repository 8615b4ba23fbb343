import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContactRoute } from '../../../hub/notify/types.js';
import { startTestHub, waitFor, type TestHub } from '../../support/hub.js';
import { HTTP_TEST_PLUGIN, PROVIDER_TOKEN, phoneRoute, startNotifyProvider, staticContactBook, type NotifyProvider } from '../../support/notify-provider.js';

/**
 * Issue 19, tiers: an order past its deadline moves up a tier and "notifies the next level" — on
 * the people's own routes too (SMS here, through a local provider that checks each request), not only
 * on open screens. Once per person and tier: a second sweep sends nothing; no ack link, no reply
 * code (there is no alert to acknowledge); the next tier's people only.
 */
const H = 3_600_000;

describe('a work order moving up a tier is sent to the next level', () => {
  const routes: Record<string, ContactRoute[]> = {};
  let t: TestHub;
  let provider: NotifyProvider;
  let offset = 0;
  let orderId = '';
  let orderNo = '';

  beforeAll(async () => {
    provider = await startNotifyProvider();
    t = await startTestHub({
      ordersNow: () => Date.now() + offset,
      notify: { channelPlugins: [HTTP_TEST_PLUGIN], contactBook: staticContactBook(routes) },
      config: {
        notify: { publicUrl: 'https://rb.example.gov.cn', channels: [{ id: 'sms', type: 'http-test', url: provider.url, token: PROVIDER_TOKEN }] },
        orders: { deadlines: { default: { grid: '1h', community: '2h', street: '4h' } } },
      },
    });
    await t.hub.registry.addStreet('s1', '幸福街道');
    await t.hub.registry.addGrid('g1', { street: 's1' });
    await t.hub.registry.addEstate('e1', { street: 's1', grid: 'g1', name: '幸福里' });
    for (const [name, role, scope, phone] of [
      ['community', 'center', 'estate:e1', '13800000001'],
      ['street', 'center', 'street:s1', '13800000002'],
    ] as const) {
      const u = await t.addUser({ name, role, scopes: [scope] });
      routes[u.id] = [phoneRoute('sms', phone)];
    }
    const imported = await t.api('POST', '/api/v1/work-orders/import', { body: [{ externalNo: 'N-1', estate: 'e1', category: 'repair', description: '楼道灯不亮' }] });
    const item = (imported.json.items as Array<{ id: string; no: string }>)[0]!;
    orderId = item.id;
    orderNo = item.no;
  });
  afterAll(async () => {
    await t?.stop();
    await provider?.close();
  });

  it('community: the community person gets one text naming the order and the tier; a second sweep sends nothing', async () => {
    offset += H + 1000;
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(1);
    expect(await waitFor(() => provider.accepted.some((a) => a.to === '13800000001'), 5_000, 50)).toBe(true);
    const sent = provider.accepted.filter((a) => a.to === '13800000001');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toContain(orderNo);
    expect(sent[0]!.text).toContain('幸福里');
    expect(sent[0]!.text).toContain('社区');
    // Nothing to acknowledge: no link, no reply code.
    expect(sent[0]!.text).not.toMatch(/https?:\/\/|回复/);
    expect(provider.accepted.filter((a) => a.to === '13800000002')).toEqual([]);
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(provider.accepted.filter((a) => a.to === '13800000001')).toHaveLength(1);
  });

  it('street: the street person is texted when it moves on', async () => {
    offset += 2 * H + 1000;
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(1);
    expect(await waitFor(() => provider.accepted.some((a) => a.to === '13800000002'), 5_000, 50)).toBe(true);
    const sent = provider.accepted.filter((a) => a.to === '13800000002');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toContain('街道');
    expect((await t.api('GET', `/api/v1/work-orders/${orderId}`)).json).toMatchObject({ tier: 'street' });
  });
});
