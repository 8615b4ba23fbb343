import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { decodeSmsText } from '../../lib/gammu/outbox.js';
import type { DutyList, GatewayStatus, RbEvent } from '../../protocol/index.js';
import { assertBuilt, stopProcess } from '../support/cli.js';
import { gammuProvider, startGammuSmsd, type GammuSmsd } from '../support/gammu.js';
import { gatewayConfig, startGatewayProcess } from '../support/gateway.js';
import { sleep, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';

const ESTATE = 'elm-court';
const GATEWAY = 'gw-1';

/**
 * Issue 17 "Must show": gateway cut from the hub: a forced door produces a local SMS within 5 s; after
 * the link returns the hub has the event with the edge notice (who was told). Real processes: the
 * gateway (`red-butler gateway`), gammu-smsd on the fake phone, and a hub that is stopped and started
 * again on the same data dir and ports.
 */
describe('the edge warns on its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-edge-'));
  let smsd: GammuSmsd | undefined;
  let hub: TestHub | undefined;
  let gw: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  afterAll(async () => {
    if (gw) await stopProcess(gw, 'SIGTERM');
    await hub?.stop();
    await smsd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hub stopped: a forced door is texted to the person on duty (duty list from the hub) through gammu-smsd within 5 s; back online, the hub shows her told at the edge and does not text her again', async () => {
    assertBuilt();
    smsd = await startGammuSmsd();
    const hubDir = join(dir, 'hub');
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    // The hub texts through the same modem (channel `modem`); the volunteer on duty has her phone on it.
    const hubConfig = { notify: { channels: [{ id: 'modem', type: 'gammu', smsdrc: smsd.smsdrc, pidFile: smsd.pidFile, pollMs: 100 }] } };
    hub = await startTestHub({ dataDir: hubDir, httpPort, mqttPort, config: hubConfig });
    await hub.hub.registry.addEstate(ESTATE, { name: '幸福里' });
    const wang = await hub.addUser({ name: 'wang', displayName: '王阿姨', role: 'volunteer', scopes: [`estate:${ESTATE}`] });
    for (let weekday = 1; weekday <= 7; weekday++) {
      expect((await hub.api('POST', '/api/v1/roster/shifts', { body: { user: wang.id, estate: ESTATE, weekday, start: '00:00', end: '24:00' } })).status).toBe(201);
    }
    expect((await hub.api('POST', `/api/v1/users/${wang.id}/contacts`, { body: { kind: 'phone', channelId: 'modem', address: '13800138000' } })).status).toBe(201);
    const statuses: GatewayStatus[] = [];
    hub.hub.bus.on('gateway.status', (s) => void statuses.push(s));
    const creds = await hub.provision(ESTATE, GATEWAY);
    const raw = {
      ...gatewayConfig({ creds, mqttPort, dataDir: join(dir, 'gw'), keepaliveS: 5 }),
      devices: [{ id: 'gate-1', driver: 'hikvision-isapi', name: '3号楼单元门', options: {} }],
      edge: { alertAfterS: 1, gammu: { smsdrc: smsd.smsdrc, pidFile: smsd.pidFile } },
    };
    gw = await startGatewayProcess(dir, raw, pushPort);
    expect(await waitFor(() => statuses.some((s) => s.reason === 'connected' && s.edge?.sms === true), 15_000)).toBe(true);

    // The hub's duty sync sends the roster with phone numbers to the gateway (it says it has a modem).
    const dutyFile = join(dir, 'gw', 'duty.json');
    const dutyOf = (): DutyList | undefined => {
      try {
        return JSON.parse(readFileSync(dutyFile, 'utf8')) as DutyList;
      } catch {
        return undefined;
      }
    };
    expect(await waitFor(() => dutyOf()?.people.some((p) => p.userId === wang.id) === true, 15_000), 'the duty list reached the gateway').toBe(true);
    expect(dutyOf()!.people.find((p) => p.userId === wang.id)).toMatchObject({ name: '王阿姨', phone: '+8613800138000', standby: true });

    // The link is cut: the hub goes away.
    await hub.stop();
    hub = undefined;
    await sleep(1_500); // past edge.alertAfterS

    const sim = createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/gate-1`, deviceName: 'gate-1', format: 'json' });
    const t0 = Date.now();
    const sent = await sim.send('forced', { door: 1 });
    expect(sent.status).toBe(200);
    const spooled = () => [...readdirSync(smsd!.spool.outbox), ...readdirSync(smsd!.spool.sent)].filter((n) => n.startsWith('OUT'));
    expect(await waitFor(() => spooled().length > 0, 5_000)).toBe(true);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(5_000);
    // Sent by the daemon through the (fake) phone, to the person on duty only.
    expect(await waitFor(() => smsd!.sentFiles().length > 0, 5_000)).toBe(true);
    await sleep(500);
    const texts = gammuProvider(smsd).accepted;
    expect(texts.map((t) => t.to)).toEqual(['+8613800138000']);
    const [edgeFile] = smsd.sentFiles();
    expect(texts[0]!.text).toContain('幸福里 3号楼单元门');
    expect(texts[0]!.text).toContain('强行开门');
    expect(texts[0]!.text).toContain('网关');
    expect(decodeSmsText(readFileSync(join(smsd.spool.sent, smsd.sentFiles()[0]!)))).toBe(texts[0]!.text);
    console.log(`edge: forced door -> SMS file in ${elapsed} ms`);

    // The link returns: the event arrives with the notice, the hub raises the alert, records her as
    // told at the edge and does not text her again.
    hub = await startTestHub({ dataDir: hubDir, httpPort, mqttPort, config: hubConfig });
    let alertId = '';
    await waitFor(async () => {
      const r = await hub!.api('GET', `/api/v1/alerts?estate=${ESTATE}`);
      alertId = (r.json.items as Array<{ id: string; rule: string }> | undefined)?.find((a) => a.rule === 'door.forced')?.id ?? '';
      return alertId !== '';
    }, 20_000);
    let rows: Array<{ userId: string | null; channelId: string; state: string; atEdge: boolean; sentAt: number | null; error: { code: string } | null }> = [];
    await waitFor(async () => {
      rows = (await hub!.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as typeof rows;
      return rows.some((r) => r.atEdge) && rows.every((r) => r.state !== 'queued' && r.state !== 'sending');
    }, 10_000);
    expect(rows.map((r) => [r.userId, r.channelId, r.state, r.atEdge, r.error?.code ?? null])).toEqual([
      [wang.id, `edge:${GATEWAY}:gammu`, 'sent', true, null],
      [wang.id, 'modem', 'skipped', false, 'RB_ERR_NOTIFY_NOT_NEEDED'],
    ]);
    expect(rows[0]!.sentAt).toBeGreaterThanOrEqual(t0);
    const db = await hub.openDatabase();
    try {
      const bodies = await db.db.selectFrom('event_log').select('body').where('kind', '=', 'event').execute();
      const forced = bodies.map((r) => JSON.parse(r.body) as RbEvent).find((e) => e.type === 'door.forced');
      expect(forced?.edge).toEqual({ notifiedAt: expect.any(Number), channel: 'gammu', rule: 'door.forced', to: [wang.id] });
    } finally {
      await db.close();
    }
    // Nobody texted twice: still the one file the gateway sent.
    await sleep(1_000);
    expect(smsd.sentFiles()).toEqual([edgeFile]);
  }, 90_000);
});
