import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
import { readFileSync } from 'node:fs';

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

  it('hub stopped: a forced door is texted to the person on duty through gammu-smsd within 5 s, and the hub learns it', async () => {
    assertBuilt();
    smsd = await startGammuSmsd();
    const hubDir = join(dir, 'hub');
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    hub = await startTestHub({ dataDir: hubDir, httpPort, mqttPort });
    const statuses: GatewayStatus[] = [];
    hub.hub.bus.on('gateway.status', (s) => void statuses.push(s));
    const creds = await hub.provision(ESTATE, GATEWAY);
    const raw = {
      ...gatewayConfig({ creds, mqttPort, dataDir: join(dir, 'gw'), keepaliveS: 5 }),
      devices: [{ id: 'gate-1', driver: 'hikvision-isapi', name: '3号楼单元门', options: {} }],
      edge: { alertAfterS: 1, gammu: { smsdrc: smsd.smsdrc, pidFile: smsd.pidFile } },
    };
    gw = await startGatewayProcess(dir, raw, pushPort);
    expect(await waitFor(() => statuses.some((s) => s.reason === 'connected'), 15_000)).toBe(true);

    // The hub sends the duty list to the gateway itself (device id = gateway id).
    const now = Date.now();
    const duty: DutyList = {
      estate: ESTATE,
      estateName: '幸福里',
      timeZone: 'Asia/Shanghai',
      issuedAt: now,
      people: [
        { userId: 'u-wang', name: '王阿姨', phone: '+8613800138000', lang: 'zh-CN', duty: [{ from: now - 3_600_000, to: now + 3_600_000 }], standby: false },
        { userId: 'u-li', name: 'Li', phone: '13900139000', lang: 'en', duty: [{ from: now + 3_600_000, to: now + 7_200_000 }], standby: false },
        { userId: 'u-center', name: '中心', phone: '13700137000', lang: 'zh-CN', duty: [], standby: true },
      ],
    };
    const { result } = await hub.hub.commands.send({ estate: ESTATE, gateway: GATEWAY, device: GATEWAY, name: 'gateway.duty.set', args: duty, actor: { id: 'system:duty-sync' } });
    expect(result).toMatchObject({ status: 'ok', data: { people: 3 } });

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
    expect(texts[0]!.text).toContain('幸福里 3号楼单元门');
    expect(texts[0]!.text).toContain('强行开门');
    expect(texts[0]!.text).toContain('网关');
    expect(decodeSmsText(readFileSync(join(smsd.spool.sent, smsd.sentFiles()[0]!)))).toBe(texts[0]!.text);
    console.log(`edge: forced door -> SMS file in ${elapsed} ms`);

    // The link returns: the event arrives with the notice, so the hub knows who was told.
    hub = await startTestHub({ dataDir: hubDir, httpPort, mqttPort });
    const db = await hub.openDatabase();
    try {
      let forced: RbEvent | undefined;
      await waitFor(async () => {
        const rows = await db.db.selectFrom('event_log').select('body').where('kind', '=', 'event').execute();
        forced = rows.map((r) => JSON.parse(r.body) as RbEvent).find((e) => e.type === 'door.forced');
        return forced !== undefined;
      }, 20_000);
      expect(forced?.edge).toEqual({ notifiedAt: expect.any(Number), channel: 'gammu', rule: 'door.forced', to: ['u-wang'] });
      expect(forced!.edge!.notifiedAt).toBeGreaterThanOrEqual(t0);
    } finally {
      await db.close();
    }
    // Nobody texted twice: the replay after the reconnect queued nothing more.
    expect(smsd.sentFiles()).toHaveLength(1);
  }, 90_000);
});
