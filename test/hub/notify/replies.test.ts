import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smsAliyun } from '../../../hub/notify/channels/sms-aliyun.js';
import { normaliseReply } from '../../../hub/notify/replies.js';
import { startAckWorld, type AckWorld } from './ack-world.js';

const TOKEN = 'inbound-token-of-the-test-0123';
/** The real Aliyun SMS plugin's callback parser, configured as an installer would. */
const aliyunConfig = smsAliyun.config.parse({ accessKeyId: 'id', accessKeySecret: 'secret-123', signName: '红管家', templateCode: 'SMS_1', inboundToken: TOKEN });

/**
 * SMS replies on a real hub: "1" (or "１") from a number in the contact book acknowledges that
 * person's newest open alert they were notified about, audited with channel sms and the channel
 * id; unknown numbers, other text and nothing to acknowledge are refused, logged with the number
 * masked and counted; the provider callback route hands replies over after the plugin's check.
 */
describe('SMS replies', () => {
  let w: AckWorld;
  beforeAll(async () => {
    w = await startAckWorld({
      inbound: (id) => (id === 'aliyun' ? { parse: (req) => smsAliyun.inbound!(aliyunConfig, req), answer: smsAliyun.inboundAnswer } : undefined),
    });
  }, 60_000);
  afterAll(() => w?.t.stop());
  const reply = (from: string, text: string, channelId = 'gammu') => w.t.hub.contacts.replies.handle({ channelId, from, text, receivedAt: Date.now() });
  const refused = (reason: string) => w.t.metric('rb_notify_reply_refused_total', { reason });

  it('normalises full-width digits and spaces', () => {
    expect(normaliseReply(' １ ')).toBe('1');
    expect(normaliseReply('1\n')).toBe('1');
    expect(normaliseReply('11')).toBe('11');
  });

  it("acknowledges the person's newest notified open alert, then the next; then there is nothing", async () => {
    const t0 = Date.now() - 60_000;
    const older = await w.alert({ notified: [w.li.id], at: t0 });
    const newer = await w.alert({ notified: [w.li.id], at: t0 + 10_000 });
    await w.alert({ notified: [w.far.id], at: t0 + 20_000, estate: 'estate-b' }); // somebody else's
    await w.alert({ notified: [], at: t0 + 30_000 }); // nobody was told of it
    expect(await reply('+86 138 1234 5678', '１')).toEqual({ ok: true, userId: w.li.id, alertId: newer.id, result: 'acknowledged' });
    expect((await w.t.hub.alertStore.get(newer.id))!).toMatchObject({ state: 'acknowledged', acknowledgedBy: `user:${w.li.id}` });
    const audit = (await w.t.hub.audit.query({ action: 'alert.ack' })).items[0];
    expect(audit).toMatchObject({ actor: `user:${w.li.id}`, target: `alert:${newer.id}`, detail: { changed: true, channel: 'sms', channelId: 'gammu' } });
    expect(await reply('008613812345678', ' 1 ')).toMatchObject({ ok: true, alertId: older.id });
    const before = await refused('nothing-to-ack');
    expect(await reply('13812345678', '1')).toEqual({ ok: false, reason: 'nothing-to-ack', userId: w.li.id });
    expect(await refused('nothing-to-ack')).toBe(before + 1);
    expect(await w.t.metric('rb_notify_remote_acks_total', { via: 'sms', result: 'acknowledged' })).toBe(2);
  });

  it('refuses unknown numbers and other text, logs the number masked, counts them, never throws', async () => {
    const alert = await w.alert({ notified: [w.li.id] });
    const unknown = await refused('unknown-number');
    expect(await reply('13900001111', '1')).toEqual({ ok: false, reason: 'unknown-number' });
    expect(await reply('garbage<>', '1')).toEqual({ ok: false, reason: 'unknown-number' });
    expect(await refused('unknown-number')).toBe(unknown + 2);
    expect(await reply('13812345678', '收到')).toEqual({ ok: false, reason: 'unknown-text', userId: w.li.id });
    expect(await refused('unknown-text')).toBe(1);
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('open');
    const logged = w.lines.filter((l) => l.msg === 'SMS reply refused');
    expect(logged.map((l) => l.from)).toContain('139****1111');
    expect(JSON.stringify(w.lines)).not.toContain('13900001111');
    expect(JSON.stringify(w.lines)).not.toContain('13812345678');
    expect(JSON.stringify(w.lines)).not.toContain('收到');
  });

  it('a person no longer covering an estate acknowledges nothing there, only in their own', async () => {
    await w.t.hub.contacts.contacts.add(w.far.id, { kind: 'phone', channelId: 'gammu', address: '+8613700001234' });
    const own = await w.alert({ notified: [w.far.id], at: Date.now() - 5_000, estate: 'estate-b' });
    const alert = await w.alert({ notified: [w.far.id] }); // estate-a, newer: far was told once, is not in its scope
    expect(await reply('13700001234', '1')).toMatchObject({ ok: true, userId: w.far.id, alertId: own.id });
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('open');
    // The earlier test's estate-b alert of far is the next in scope; after it, nothing (never the estate-a one).
    expect(await reply('13700001234', '1')).toMatchObject({ ok: true, userId: w.far.id });
    expect(await reply('13700001234', '1')).toEqual({ ok: false, reason: 'nothing-to-ack', userId: w.far.id });
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('open');
  });

  it('POST /api/v1/notify/inbound/:channelId hands signed callbacks to the replies; refuses bad signatures and unknown channels', async () => {
    const alert = await w.alert({ notified: [w.li.id] });
    // Aliyun's SmsUp push (HTTP 批量推送): a JSON array, unsigned, so the URL carries the token.
    const post = (channel: string, token: string, body: unknown) =>
      fetch(`${w.t.httpUrl}/api/v1/notify/inbound/${channel}?token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const up = (phone: string, content: string) => ({ phone_number: phone, content, send_time: '2026-12-07 03:00:00', dest_code: '1234', sequence_id: 1 });
    const bad = await post('aliyun', 'wrong-token-wrong-token', [up('13812345678', '1')]);
    expect(bad.status).toBe(401);
    expect(await w.t.metric('rb_notify_reply_refused_total', { reason: 'bad-signature' })).toBe(1);
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('open');
    expect((await post('nowhere', TOKEN, [])).status).toBe(404);
    expect((await post('aliyun', TOKEN, { not: 'an array' })).status).toBe(400);
    const ok = await post('aliyun', TOKEN, [up('13812345678', '１'), up('13900001111', '1')]);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ code: 0, msg: '接收成功' });
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('acknowledged');
    // The channel id is the route's.
    expect((await w.t.hub.audit.query({ action: 'alert.ack' })).items[0]).toMatchObject({ target: `alert:${alert.id}`, detail: { channel: 'sms', channelId: 'aliyun' } });
  });
});
