import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../hub/registry.js';
import { topics } from '../../protocol/index.js';
import { connectGateway, publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/** Provisioning over REST for admins, and what rotate/revoke do to a connected gateway (real aedes, real mqtt.js). */

const TOKEN = 'admin-token-0123456789';
const E = 'maple';
let t: TestHub | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function api(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(t!.httpUrl + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Connect and report the CONNACK refusal code, or 0 when accepted (the client is then ended). */
async function connackCode(creds: GatewayCredentials): Promise<number> {
  try {
    const c = await connectGateway(t!.mqttUrl, creds);
    await c.endAsync(true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

const closed = (c: MqttClient): Promise<boolean> => waitFor(() => !c.connected, 3_000);

describe('admin REST', () => {
  it('needs the API token; refuses bad bodies and ids with coded errors', async () => {
    t = await startTestHub({ apiToken: TOKEN });
    expect((await api('GET', '/api/v1/admin/gateways', undefined, null)).status).toBe(401);
    expect((await api('GET', '/api/v1/admin/gateways', undefined, 'wrong-token-0123456789')).json).toMatchObject({ error: { code: 'RB_ERR_UNAUTHENTICATED' } });
    expect(await api('POST', '/api/v1/admin/gateways', { estate: 'Maple!', gateway: 'gw-1' })).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_BODY' } } });
    expect(await api('POST', '/api/v1/admin/gateways', '{"estate":')).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_BODY' } } });
    expect(await api('POST', '/api/v1/admin/gateways', { estate: E, gateway: 'gw-1', extra: 1 })).toMatchObject({ status: 400 });
    expect(await api('POST', '/api/v1/admin/gateways/maple/nope/rotate')).toMatchObject({ status: 404, json: { error: { code: 'RB_ERR_UNKNOWN_GATEWAY' } } });
    expect(await api('POST', '/api/v1/admin/gateways/maple/NOPE/revoke')).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_ID' } } });
    expect(await api('GET', '/api/v1/admin/dead-letters?limit=0')).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_QUERY' } } });
    expect(await api('GET', '/api/v1/admin/devices?estate=a/b')).toMatchObject({ status: 400, json: { error: { code: 'RB_ERR_BAD_QUERY' } } });
  });

  it('without RB_API_TOKEN the admin routes take admin users only, scoped to their estates', async () => {
    t = await startTestHub({ apiToken: null });
    expect(await api('GET', '/api/v1/admin/gateways')).toMatchObject({ status: 401, json: { error: { code: 'RB_ERR_UNAUTHENTICATED' } } });
    const volunteer = await t.addUser({ name: 'vera', role: 'volunteer', scopes: [`estate:${E}`] });
    expect(await api('GET', '/api/v1/admin/gateways', undefined, volunteer.token)).toMatchObject({ status: 403, json: { error: { code: 'RB_ERR_FORBIDDEN' } } });
    const admin = await t.addUser({ name: 'ada', role: 'admin', scopes: [`estate:${E}`] });
    expect(await api('POST', '/api/v1/admin/gateways', { estate: E, gateway: 'gw-1' }, admin.token)).toMatchObject({ status: 201 });
    expect(await api('POST', '/api/v1/admin/gateways', { estate: 'other', gateway: 'gw-1' }, admin.token)).toMatchObject({ status: 403, json: { error: { code: 'RB_ERR_FORBIDDEN' } } });
    expect(await api('GET', '/api/v1/admin/dead-letters', undefined, admin.token)).toMatchObject({ status: 403 });
    expect((await api('GET', '/api/v1/admin/gateways', undefined, admin.token)).json.items).toMatchObject([{ estate: E, gateway: 'gw-1' }]);
  });

  it('add -> connect and announce devices -> rotate closes the session, old secret refused -> revoke closes it, refused after', async () => {
    t = await startTestHub({ apiToken: TOKEN });
    const added = await api('POST', '/api/v1/admin/gateways', { estate: E, gateway: 'gw-1' });
    expect(added.status).toBe(201);
    const creds = added.json as unknown as GatewayCredentials;
    expect(creds).toMatchObject({ estate: E, gateway: 'gw-1', username: 'maple.gw-1', password: expect.any(String) });

    // devices from the gateway's status message
    const client = await t.connect(creds);
    const status = { v: 1, estate: E, gateway: 'gw-1', state: 'online', ts: Date.now(), devices: { 'gate-1': { online: true, lastSeen: Date.now() } } };
    expect(await publishOutcome(client, topics.status(E, 'gw-1'), JSON.stringify(status))).toBe('acked');
    const devices = await api('GET', `/api/v1/admin/devices?estate=${E}`);
    expect(devices.json.items).toEqual([expect.objectContaining({ estate: E, gateway: 'gw-1', device: 'gate-1', online: true })]);

    // rotate: the connected session is closed at once; the old secret is refused, the new one works
    const rotated = await api('POST', `/api/v1/admin/gateways/${E}/gw-1/rotate`);
    expect(rotated.status).toBe(200);
    const fresh = rotated.json as unknown as GatewayCredentials;
    expect(await closed(client)).toBe(true);
    expect(await connackCode(creds)).toBe(4);
    const again = await t.connect(fresh);
    expect(again.connected).toBe(true);

    // revoke: closed at once, refused after
    const t0 = Date.now();
    const revoked = await api('POST', `/api/v1/admin/gateways/${E}/gw-1/revoke`);
    expect(revoked).toMatchObject({ status: 200, json: { estate: E, gateway: 'gw-1', revokedAt: expect.any(Number) } });
    expect(await closed(again)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await connackCode(fresh)).toBe(4);
    expect(await api('POST', `/api/v1/admin/gateways/${E}/gw-1/rotate`)).toMatchObject({ status: 409, json: { error: { code: 'RB_ERR_GATEWAY_REVOKED' } } });

    const list = await api('GET', '/api/v1/admin/gateways');
    expect(list.json.items).toEqual([expect.objectContaining({ estate: E, gateway: 'gw-1', revokedAt: expect.any(Number) })]);
    expect(JSON.stringify(list.json)).not.toContain(fresh.password);

    // add re-activates with a new secret
    const back = (await api('POST', '/api/v1/admin/gateways', { estate: E, gateway: 'gw-1' })).json as unknown as GatewayCredentials;
    expect(await connackCode(fresh)).toBe(4);
    expect(await connackCode(back)).toBe(0);
    expect(await t.metric('rb_mqtt_auth_failures_total', { reason: 'bad-credentials' })).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
