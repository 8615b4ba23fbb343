import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsapiDriver, IsapiOptions } from '../../../devices/access-gate/isapi-driver.js';
import { AnprOptions, createAnprDriver } from '../../../devices/barrier-gate/anpr-driver.js';
import { digestResponse, parseAuthHeader } from '../../../devices/http-digest.js';
import { OnvifOptions } from '../../../devices/onvif-camera/options.js';
import { OnvifSession } from '../../../devices/onvif-camera/session.js';
import { profiles } from '../../../devices/onvif-camera/simulator-soap.js';
import { envelope, passwordDigest } from '../../../devices/onvif-camera/soap.js';
import type { DriverContext } from '../../../devices/types.js';
import { silentLogger } from '../../../lib/log.js';
import { startEvilDevice, type Captured, type EvilDevice } from './evil-device.js';

/**
 * Credentials with XML metacharacters must travel intact and inject nothing: the evil device captures
 * what we send, parses it back with a conforming parser (predefined entities decoded) and checks the
 * values and the element structure.
 */
const USER = `ad<m>&"']]>in`;
const PASSWORD = `p<a&ss>"']]><x/>&amp;`;
const REALM = 'evil "realm"';
const NONCE = 'bm9uY2U=';

// A conforming reader: predefined entities decoded, attributes kept, namespace prefixes dropped.
const reader = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: true, processEntities: true, htmlEntities: false, parseTagValue: false });
const keys = (v: unknown): string[] => Object.keys(v as Record<string, unknown>).filter((k) => !k.startsWith('@'));
const textOf = (v: unknown): string => (typeof v === 'object' && v !== null ? String((v as Record<string, unknown>)['#text']) : String(v));

/** Digest: 401 with a challenge, then check the Authorization computed with the real password. */
function digestDevice(answer: string): (req: Captured) => { status: number; headers?: Record<string, string>; body: string } {
  return (req) => {
    const auth = req.headers.authorization;
    if (auth === undefined) {
      return { status: 401, headers: { 'www-authenticate': `Digest realm="${REALM.replace(/"/g, '\\"')}", nonce="${NONCE}", qop="auth", algorithm=MD5` }, body: '' };
    }
    const parsed = parseAuthHeader(auth);
    if (typeof parsed === 'string') return { status: 400, body: parsed };
    const p = parsed[0]?.params ?? new Map<string, string>();
    const expected = digestResponse({
      algorithm: 'MD5',
      realm: REALM,
      nonce: NONCE,
      username: USER,
      password: PASSWORD,
      method: req.method,
      uri: req.url,
      qop: 'auth',
      nc: p.get('nc'),
      cnonce: p.get('cnonce'),
    });
    const ok = p.get('username') === USER && p.get('realm') === REALM && p.get('response') === expected;
    return ok ? { status: 200, body: answer } : { status: 401, body: 'bad digest' };
  };
}

function ctx<O>(options: O): DriverContext<O> {
  return {
    estate: 'estate-1',
    gateway: 'gw-1',
    device: { id: 'dev-1', driver: 'x', options: {} },
    options,
    log: silentLogger(),
    hash: (v) => v,
    emit: async () => undefined,
    routes: { register: () => undefined, unregister: () => undefined },
  };
}

const OK_STATUS =
  '<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
  '<statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>';

let device: EvilDevice;
beforeAll(async () => {
  device = await startEvilDevice();
});
afterAll(() => device?.stop());

describe('credentials with <, &, ]]> and quotes', () => {
  it('ONVIF UsernameToken: the username parses back exactly, the digest matches the password, nothing injected', async () => {
    device.mode = { kind: 'answer', contentType: 'application/soap+xml; charset=utf-8', body: envelope(profiles()) };
    device.captured.length = 0;
    const session = new OnvifSession(OnvifOptions.parse({ address: `${device.url}/onvif/device_service`, username: USER, password: PASSWORD, requestTimeoutMs: 2_000 }));
    session.xaddr.media = `${device.url}/onvif/media_service`;
    await session.loadProfile();
    expect(session.profileToken).toBe('Profile_1');

    const sent = device.captured[0]?.body.toString() ?? '';
    expect(XMLValidator.validate(sent)).toBe(true);
    // Neither credential appears raw; the password never appears at all (only its digest does).
    expect(sent).not.toContain(USER);
    expect(sent).not.toContain(']]>');
    expect(sent).not.toContain('<x/>');
    expect(sent).not.toContain('p<a&ss');
    expect(sent).not.toContain(PASSWORD.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`));

    const doc = reader.parse(sent) as Record<string, Record<string, Record<string, unknown>>>;
    const env = doc.Envelope ?? {};
    expect(keys(env)).toEqual(['Header', 'Body']);
    expect(keys(env.Header)).toEqual(['Security']);
    expect(keys(env.Body)).toEqual(['GetProfiles']);
    const token = (env.Header?.Security as Record<string, Record<string, unknown>>).UsernameToken ?? {};
    expect(keys(token)).toEqual(['Username', 'Password', 'Nonce', 'Created']);
    expect(textOf(token.Username)).toBe(USER);
    const nonce = Buffer.from(textOf(token.Nonce), 'base64');
    expect(nonce).toHaveLength(16);
    expect(textOf(token.Password)).toBe(passwordDigest(nonce, textOf(token.Created), PASSWORD));
  });

  it('ONVIF over HTTP Digest as well: the device verifies the password from the Authorization header', async () => {
    device.mode = { kind: 'respond', fn: digestDevice(envelope(profiles())) };
    const session = new OnvifSession(OnvifOptions.parse({ address: `${device.url}/onvif/device_service`, username: USER, password: PASSWORD, requestTimeoutMs: 2_000 }));
    session.xaddr.media = `${device.url}/onvif/media_service`;
    await expect(session.loadProfile()).resolves.toBeUndefined();
  });

  it('ISAPI door command: Digest with that password is accepted, the XML body is exactly RemoteControlDoor/cmd', async () => {
    device.mode = { kind: 'respond', fn: digestDevice(OK_STATUS) };
    device.captured.length = 0;
    const driver = createIsapiDriver(ctx(IsapiOptions.parse({ address: device.url, username: USER, password: PASSWORD, commandTimeoutMs: 2_000 })));
    await expect(driver.execute({ id: 'c1', name: 'door.open', args: { door: 2 }, signal: new AbortController().signal })).resolves.toEqual({ door: 2, cmd: 'open' });
    const sent = device.captured.at(-1)?.body.toString() ?? '';
    expect(sent).not.toContain(USER);
    expect(sent).not.toContain('p<a&ss');
    const doc = reader.parse(sent) as Record<string, Record<string, unknown>>;
    expect(keys(doc.RemoteControlDoor)).toEqual(['cmd']);
    expect(doc.RemoteControlDoor?.cmd).toBe('open');
  });

  it('ANPR barrier command: Digest with that password is accepted, the XML body is exactly BarrierGate/ctrlMode', async () => {
    device.mode = { kind: 'respond', fn: digestDevice(OK_STATUS) };
    device.captured.length = 0;
    const driver = createAnprDriver(ctx(AnprOptions.parse({ address: device.url, username: USER, password: PASSWORD, commandTimeoutMs: 2_000 })));
    await expect(driver.execute({ id: 'c2', name: 'barrier.open', args: { lane: 1 }, signal: new AbortController().signal })).resolves.toEqual({ lane: 1, ctrlMode: 'open' });
    const sent = device.captured.at(-1)?.body.toString() ?? '';
    expect(sent).not.toContain('p<a&ss');
    const doc = reader.parse(sent) as Record<string, Record<string, unknown>>;
    expect(keys(doc.BarrierGate)).toEqual(['ctrlMode']);
    expect(doc.BarrierGate?.ctrlMode).toBe('open');
  });
});
