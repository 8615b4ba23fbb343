import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anprDriverFactory, AnprOptions, type AnprRejectReason } from '../../../devices/barrier-gate/anpr-driver.js';
import { MAX_XML_BYTES, normalisePlate } from '../../../devices/barrier-gate/anpr-parse.js';
import { barrierGateProfile } from '../../../devices/barrier-gate/profile.js';
import { createBarrierGateSimulator, DEFAULT_ALLOW, type BarrierGateSimulator, type SimKind } from '../../../devices/barrier-gate/simulator.js';
import { plateJpeg } from '../../../devices/sim/scene.js';
import { getDriverFactory } from '../../../devices/registry.js';
import type { DraftEvent } from '../../../devices/types.js';
import { validateEvent } from '../../../protocol/index.js';
import { envelope, harness, type Harness } from './harness.js';

const AT = Date.UTC(2026, 10, 27, 11, 0, 0); // 2026-11-27T19:00:00+08:00
const source = { vendor: 'hikvision-anpr' };
const LANES = [
  { lane: 1, direction: 'in' },
  { lane: 2, direction: 'out' },
];

/** What each kind must become with the simulator's default lists and these lanes. */
const EXPECTED: Record<SimKind, [Record<string, unknown>, Omit<DraftEvent, 'ts' | 'dedupKey'>]> = {
  'allow-in': [{}, { type: 'vehicle.entered', data: { lane: 1, plate: '京A12345', plateColor: 'blue', confidence: 97, list: 'allow', source } }],
  'allow-out': [{}, { type: 'vehicle.exited', data: { lane: 2, plate: '京A12345', plateColor: 'blue', confidence: 97, list: 'allow', source } }],
  'visitor-in': [{ plate: '粤Z54321' }, { type: 'vehicle.entered', data: { lane: 1, plate: '粤Z54321', plateColor: 'blue', confidence: 97, list: 'other', source } }],
  'visitor-out': [{ plate: '粤Z54321' }, { type: 'vehicle.exited', data: { lane: 2, plate: '粤Z54321', plateColor: 'blue', confidence: 97, list: 'other', source } }],
  block: [{}, { type: 'vehicle.denied', data: { lane: 1, plate: '冀D13579', plateColor: 'blue', confidence: 97, list: 'block', reason: 'blocklist', source } }],
  unreadable: [{}, { type: 'vehicle.entered', data: { lane: 1, list: 'other', source } }],
  'barrier-open': [{ lane: 2 }, { type: 'barrier.opened', data: { lane: 2, source } }],
  'barrier-close': [{ lane: 2 }, { type: 'barrier.closed', data: { lane: 2, source } }],
  fault: [{}, { type: 'barrier.fault', data: { lane: 1, reason: 'barrier reports no position signal (arm blocked or sensor fault)', source } }],
};

const alert = (inner: string, dateTime = '2026-11-27T19:00:00+08:00'): string =>
  `<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">` +
  `<channelID>1</channelID><dateTime>${dateTime}</dateTime><eventType>ANPR</eventType><eventState>active</eventState>${inner}</EventNotificationAlert>`;
const READ = '<ANPR><licensePlate>京A12345</licensePlate><line>1</line><confidenceLevel>90</confidenceLevel></ANPR>';

function multipart(parts: Array<[string, string, Buffer]>): Buffer {
  const chunks = parts.flatMap(([name, type, body]) => [
    Buffer.from(`--B\r\nContent-Disposition: form-data; name="${name}"\r\nContent-Type: ${type}\r\n\r\n`),
    body,
    Buffer.from('\r\n'),
  ]);
  return Buffer.concat([...chunks, Buffer.from('--B--\r\n')]);
}

describe('hikvision-anpr driver over HTTP, driven by the simulator', () => {
  let h: Harness;
  let sim: BarrierGateSimulator;

  beforeAll(async () => {
    h = await harness({ lanes: LANES });
    sim = createBarrierGateSimulator({ target: h.url('/anpr/barrier-1') });
  });
  afterAll(async () => {
    await sim.close();
    await h.stop();
  });

  it('is registered, with the barrier-gate profile', () => {
    expect(getDriverFactory('hikvision-anpr')).toBe(anprDriverFactory);
    expect(anprDriverFactory.profile).toBe(barrierGateProfile);
    expect(barrierGateProfile.events).toEqual(['vehicle.entered', 'vehicle.exited', 'vehicle.denied', 'barrier.opened', 'barrier.closed', 'barrier.fault']);
    expect(barrierGateProfile.commands).toEqual(['barrier.open', 'barrier.close', 'plates.set']);
  });

  for (const kind of Object.keys(EXPECTED) as SimKind[]) {
    it(`maps ${kind} to ${EXPECTED[kind][1].type}, every field checked`, async () => {
      const before = h.drafts.length;
      const [opts, expected] = EXPECTED[kind];
      const sent = await sim.send(kind, { ...opts, at: AT });
      expect(sent.status).toBe(200);
      expect(sent.body).toContain('<statusCode>1</statusCode>');
      expect(h.drafts.length).toBe(before + 1);
      const draft = h.drafts.at(-1) as DraftEvent;
      expect(draft).toEqual({ ...expected, ts: AT, dedupKey: sent.uuid });
      expect(validateEvent(envelope(draft))).toMatchObject({ ok: true });
    });
  }

  it('a visitor leaves on the plate it came in with, whatever plates others were sent with meanwhile', async () => {
    const plateOf = () => (h.drafts.at(-1)?.data as { plate?: string }).plate;
    await sim.send('visitor-in');
    const visitor = plateOf();
    expect(visitor).toMatch(/^粤Z\d{5}$/);
    await sim.send('visitor-in', { plate: '粤B8D888' }); // another visitor, named by the caller
    await sim.send('visitor-out');
    expect(plateOf()).toBe(visitor);
    expect(h.drafts.at(-1)?.type).toBe('vehicle.exited');
  });

  it('keeps the plate picture per event, out of the event', async () => {
    const sent = await sim.send('allow-in', { at: AT });
    expect(h.driver.picture(sent.uuid)?.bytes.equals(plateJpeg(DEFAULT_ALLOW[0]!))).toBe(true); // the plate crop, not the scene
    expect(JSON.stringify(h.drafts.at(-1))).not.toContain('jpg');
    const unpictured = await sim.send('allow-in', { pictures: false });
    expect(h.driver.picture(unpictured.uuid)).toBeUndefined();
  });

  it('takes a camera re-post with the same UUID as the same dedupKey', async () => {
    const a = await sim.send('block', { at: AT, uuid: 'a1301cd8-1dd1-11b2-9c0b-e8ad94177b80' });
    const b = await sim.send('block', { at: AT, uuid: a.uuid });
    expect(h.drafts.at(-1)?.dedupKey).toBe(a.uuid);
    expect(h.drafts.at(-2)?.dedupKey).toBe(b.uuid);
  });

  it('counts heartbeats without an event and reports the camera online', async () => {
    const before = h.drafts.length;
    const { heartbeats } = h.driver.stats();
    expect((await sim.heartbeat()).status).toBe(200);
    expect(h.driver.stats().heartbeats).toBe(heartbeats + 1);
    expect(h.drafts.length).toBe(before);
    expect(h.driver.health().online).toBe(true);
  });

  const deep = '<a>'.repeat(60) + '</a>'.repeat(60);
  const BAD: Array<[string, AnprRejectReason, Buffer | string, string]> = [
    ['malformed XML', 'invalid-xml', alert('<ANPR><licensePlate>京A1</ANPR>'), 'application/xml'],
    ['an XXE attempt', 'doctype', `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>${alert('<ANPR><licensePlate>&x;</licensePlate></ANPR>')}`, 'application/xml'],
    ['entity expansion', 'doctype', `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>${alert('<ANPR><licensePlate>&b;</licensePlate></ANPR>')}`, 'application/xml'],
    ['deep nesting', 'invalid-xml', alert(deep), 'application/xml'],
    ['an oversize XML part', 'too-large', multipart([['anpr.xml', 'application/xml', Buffer.from(alert(`<pad>${'x'.repeat(MAX_XML_BYTES)}</pad>${READ}`))]]), 'multipart/form-data; boundary=B'],
    ['multipart without XML', 'no-xml', multipart([['licensePlatePicture.jpg', 'image/jpeg', plateJpeg('京A12345')]]), 'multipart/form-data; boundary=B'],
    ['multipart without boundary', 'bad-multipart', 'x', 'multipart/form-data'],
    ['another document', 'not-an-alert', '<ResponseStatus><statusCode>1</statusCode></ResponseStatus>', 'application/xml'],
    ['a time without offset', 'bad-date', alert(READ, '2026-11-27T19:00:00'), 'application/xml'],
    ['confidence out of range', 'bad-field', alert(READ.replace('90', '150')), 'application/xml'],
    ['a bad barrier status', 'bad-field', alert('<BarrierGateStatus><barrierGateStatus>7</barrierGateStatus></BarrierGateStatus>').replace('>ANPR<', '>barrierGateStatus<'), 'application/xml'],
    ['not XML at all', 'invalid-xml', 'hello', 'text/plain'],
  ];
  for (const [what, reason, body, type] of BAD) {
    it(`refuses ${what} with 400 and a ${reason} count, no event, and keeps working`, async () => {
      const before = h.drafts.length;
      const count = h.driver.stats().rejected[reason];
      const answer = await sim.sendRaw(body, type);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatch(new RegExp(`^${reason}:`));
      expect(answer.body).not.toContain('passwd');
      expect(h.driver.stats().rejected[reason]).toBe(count + 1);
      expect(h.drafts.length).toBe(before);
      expect((await sim.send('allow-in')).status).toBe(200);
      expect(h.drafts.length).toBe(before + 1);
    });
  }

  it('answers 503 when the gateway cannot queue the event, so the camera posts again', async () => {
    h.fail.emit = true;
    try {
      expect((await sim.send('allow-in')).status).toBe(503);
    } finally {
      h.fail.emit = false;
    }
    expect(h.driver.stats().rejected['emit-failed']).toBe(1);
  });
});

describe('hikvision-anpr direction and sources', () => {
  it('uses the camera direction on unconfigured lanes, then defaultDirection', async () => {
    const h = await harness({ defaultDirection: 'out' });
    const sim = createBarrierGateSimulator({ target: h.url('/anpr/barrier-1') });
    try {
      await sim.send('allow-in', { lane: 3, direction: 'forward' });
      await sim.send('allow-in', { lane: 3, direction: 'reverse' });
      await sim.send('allow-in', { lane: 3, direction: 'unknown' });
      expect(h.drafts.map((d) => d.type)).toEqual(['vehicle.entered', 'vehicle.exited', 'vehicle.exited']);
    } finally {
      await sim.close();
      await h.stop();
    }
  });

  it('refuses pushes from outside allowFrom with 403', async () => {
    const h = await harness({ allowFrom: ['10.0.0.9'] });
    const sim = createBarrierGateSimulator({ target: h.url('/anpr/barrier-1') });
    try {
      expect((await sim.send('allow-in')).status).toBe(403);
      expect(h.drafts).toEqual([]);
      expect(h.driver.stats().rejected['forbidden-source']).toBe(1);
    } finally {
      await sim.close();
      await h.stop();
    }
  });

  it('validates options', () => {
    expect(AnprOptions.safeParse({ lanes: [{ lane: 1, direction: 'in' }, { lane: 1, direction: 'out' }] }).success).toBe(false);
    expect(AnprOptions.safeParse({ password: 'x' }).success).toBe(false);
    expect(AnprOptions.safeParse({ address: 'http://u:p@10.0.0.1' }).success).toBe(false);
  });
});

describe('normalisePlate', () => {
  it.each([
    ['京 a-12345', '京A12345'],
    ['京A·12345', '京A12345'],
    ['蓝京A12345', '京A12345'],
    ['黑A12345', '黑A12345'],
    ['粤B12345学', '粤B12345学'],
  ])('%s → %s', (raw, plate) => expect(normalisePlate(raw)).toBe(plate));

  it.each([['unknown'], ['无车牌'], [''], ['  '], ['A'], ['<script>'], [42]])('%s is unreadable', (raw) => {
    expect(normalisePlate(raw)).toBeUndefined();
  });
});
