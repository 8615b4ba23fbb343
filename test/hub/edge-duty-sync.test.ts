import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/main.js';
import { buildDutyList, type DutyContact } from '../../hub/edge/duty-sync.js';
import { DutyList } from '../../protocol/index.js';
import { startGammuSmsd, type GammuSmsd } from '../support/gammu.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';

const ESTATE = 'elm';

describe('the hub sends each gateway its duty list (hub/edge/duty-sync.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-duty-'));
  let hub: TestHub;
  let smsd: GammuSmsd;
  let gateway: Gateway | undefined;
  const ids: Record<string, string> = {};
  const contacts = new Map<string, DutyContact>();

  beforeAll(async () => {
    smsd = await startGammuSmsd();
    // The hub's own duty sync (hub/notify/wire.ts) reads phones from its contact book: the modem channel.
    hub = await startTestHub({ config: { notify: { channels: [{ id: 'modem', type: 'gammu', smsdrc: smsd.smsdrc, pidFile: smsd.pidFile }] } } });
    await hub.provision(ESTATE, 'gw-1');
    for (const name of ['wang', 'li', 'zhao']) ids[name] = (await hub.addUser({ name, role: 'volunteer', scopes: [`estate:${ESTATE}`] })).id;
    // wang and li on duty around the clock (a shift crossing midnight every day), zhao never.
    for (const user of ['wang', 'li']) for (let weekday = 1; weekday <= 7; weekday++) await hub.hub.roster.addShift({ user: ids[user]!, estate: ESTATE, weekday, start: '00:00', end: '00:00' });
    contacts.set(ids.wang!, { phone: '+8613800138000', lang: 'zh-CN' });
    contacts.set(ids.zhao!, { phone: '13700137000', lang: 'en' });
    await hub.hub.contacts.contacts.add(ids.wang!, { kind: 'phone', channelId: 'modem', address: '13800138000' });
    await hub.hub.contacts.contacts.add(ids.zhao!, { kind: 'phone', channelId: 'modem', address: '13700137000' });
  });
  afterAll(async () => {
    await gateway?.stop();
    await hub?.stop();
    await smsd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('expands the roster into windows, with the estate\'s volunteers as standby, and names who has no phone', () => {
    const from = Date.UTC(2026, 11, 7, 2, 30, 15);
    const { list, withoutPhone } = buildDutyList({ estate: ESTATE, estateName: '幸福里', roster: hub.hub.roster, contactOf: (id) => contacts.get(id), from, horizonHours: 2 });
    expect(DutyList.parse(list)).toEqual(list);
    expect(list).toMatchObject({ estate: ESTATE, estateName: '幸福里', timeZone: hub.hub.roster.timeZone, issuedAt: from });
    const start = Date.UTC(2026, 11, 7, 2, 30);
    expect(list.people).toEqual([
      { userId: ids.wang, name: 'wang', phone: '+8613800138000', lang: 'zh-CN', duty: [{ from: start, to: start + 7_200_000 }], standby: true },
      { userId: ids.zhao, name: 'zhao', phone: '13700137000', lang: 'en', duty: [], standby: true },
    ]);
    expect(withoutPhone).toEqual([ids.li]);
    // What a sync costs: the roster is read minute by minute over the horizon.
    const t0 = performance.now();
    buildDutyList({ estate: ESTATE, roster: hub.hub.roster, contactOf: (id) => contacts.get(id), from, horizonHours: 48 });
    console.log(`duty list, 48 h horizon: ${(performance.now() - t0).toFixed(1)} ms`);
  });

  it('finds the same windows as asking the roster minute by minute (shifts, midnight, exceptions)', async () => {
    const from = Date.UTC(2026, 11, 9, 1, 7, 3);
    const sun = (await hub.addUser({ name: 'sun', role: 'volunteer', scopes: [`estate:${ESTATE}`] })).id;
    contacts.set(sun, { phone: '13600136000', lang: 'zh-CN' });
    for (let weekday = 1; weekday <= 7; weekday++) {
      await hub.hub.roster.addShift({ user: sun, estate: ESTATE, weekday, start: '08:15', end: '12:45' });
      await hub.hub.roster.addShift({ user: sun, estate: ESTATE, weekday, start: '22:30', end: '01:10' });
    }
    await hub.hub.roster.addException({ user: sun, estate: ESTATE, from: from + 5 * 3_600_000 + 17_000, to: from + 26 * 3_600_000, kind: 'off' });
    await hub.hub.roster.addException({ user: ids.zhao!, estate: ESTATE, from: from + 3_600_000, to: from + 4 * 3_600_000 + 60_000, kind: 'on' });
    const { list } = buildDutyList({ estate: ESTATE, roster: hub.hub.roster, contactOf: (id) => contacts.get(id), from, horizonHours: 48 });
    const start = Math.floor(from / 60_000) * 60_000;
    for (const who of [sun, ids.zhao!]) {
      const windows: { from: number; to: number }[] = [];
      for (let at = start; at < start + 48 * 3_600_000; at += 60_000) {
        if (!hub.hub.roster.onDuty(ESTATE, at).some((u) => u.id === who)) continue;
        const last = windows.at(-1);
        if (last && last.to === at) last.to = at + 60_000;
        else windows.push({ from: at, to: at + 60_000 });
      }
      // Minute sampling sees an exception's odd second at the next minute; the change points see it exactly.
      const round = (w: { from: number; to: number }) => ({ from: Math.ceil(w.from / 60_000) * 60_000, to: Math.ceil(w.to / 60_000) * 60_000 });
      expect(list.people.find((p) => p.userId === who)!.duty.map(round), who).toEqual(windows);
      expect(windows.length).toBeGreaterThan(0);
    }
  });

  it('a gateway that connects and says it has a modem gets the list from the hub, and keeps it on disk', async () => {
    // The hub's wired sync (hub/notify/wire.ts): sent when the gateway's status says `edge: {sms: true}`.
    const creds = await hub.hub.registry.rotateGateway(ESTATE, 'gw-1');
    const gwDir = join(dir, 'gw');
    gateway = await startGatewayInProcess({ ...gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: gwDir }), edge: { gammu: { smsdrc: smsd.smsdrc } } });
    const file = join(gwDir, 'duty.json');
    const written = () => {
      try {
        return readFileSync(file, 'utf8').length > 0;
      } catch {
        return false;
      }
    };
    expect(await waitFor(written, 10_000)).toBe(true);
    const kept = DutyList.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(kept.people.map((p) => p.userId)).toContain(ids.wang);
    expect(kept.people.map((p) => p.userId)).not.toContain(ids.li);
    const wang = kept.people.find((p) => p.userId === ids.wang)!;
    expect(wang.duty).toHaveLength(1);
    // The hub's horizon: 48 h of duty in one window (on duty around the clock).
    expect(wang.duty[0]!.to - wang.duty[0]!.from).toBe(48 * 3_600_000);
    expect(wang.phone).toBe('+8613800138000');
  });
});
