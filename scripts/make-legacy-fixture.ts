/**
 * Builds test/fixtures/legacy-data-dir/: a hub data dir written by THIS release's code, used the way
 * a user uses it, for the upgrade tests of issue 16 item 8 ("same users, gateways, alerts, audit
 * afterwards"). Run from the project folder after `npm run -s build` (the admin commands run the built
 * CLI, as users do):
 *
 *   npx tsx scripts/make-legacy-fixture.ts [--out DIR]
 *
 * What it does, in a temp dir: the admin CLI adds a street, a grid, two named estates, two gateways
 * and six users (passwords set, one password changed, one user disabled); then a real hub
 * (createHub) runs with a real gateway per estate (in process, the access-gate and ONVIF camera
 * simulators in front of it) and people act over REST and Socket.IO: roster shifts, changed alert
 * settings, two forced doors (one alert acknowledged with a note and left open, one acknowledged,
 * closed and resolved with a note; the camera's snapshot linked), a hand-over note, logins (one
 * failed), a poison message (dead letter); the CLI revokes the second gateway. Then everything stops
 * cleanly, each SQLite file is checkpointed (no -wal/-shm beside it), counted, and copied with a
 * README.md and fixture.json that list what is in it.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { io as ioClient } from 'socket.io-client';
import { createAccessGateSimulator, type AccessGateSimulator, type SimKind } from '../devices/access-gate/simulator.js';
import { createOnvifSimulator } from '../devices/onvif-camera/simulator.js';
import { validateGatewayConfig } from '../gateway/config.js';
import { createGateway, type Gateway } from '../gateway/main.js';
import { resolveHubConfig } from '../hub/config.js';
import { createHub } from '../hub/main.js';
import { clientIdFor, topics } from '../protocol/index.js';
import { checkpointAndCount, gitCommit, readme, walk } from './lib/legacy-fixture-files.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin/red-butler.js');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? process.argv[outArg + 1]! : join(ROOT, 'test/fixtures/legacy-data-dir');
const API_TOKEN = 'fixture-api-token-0123456789';
const log = pino({ level: process.env.RB_LOG_LEVEL ?? 'warn' }, pino.destination(2));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** `red-butler hub ...args` as its own process; its JSON answer. */
function cli(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'hub', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`red-butler hub ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(out.trim() ? JSON.parse(out) : undefined);
    });
  });
}

const STREET = { id: 'xingfu', name: '幸福街道' };
const GRID = { id: 'grid-1', name: '第一网格' };
const ESTATES = [
  { id: 'maple', name: '枫林苑', grid: GRID.id },
  { id: 'osmanthus', name: '桂花园', street: STREET.id },
];
const USERS = [
  { name: 'admin-wang', role: 'admin', scope: `street:${STREET.id}`, displayName: '王管理', password: 'Admin-Pass-2026' },
  { name: 'center-liu', role: 'center', scope: `street:${STREET.id}`, displayName: '刘中心', password: 'Center-Pass-2026' },
  { name: 'vol-li', role: 'volunteer', scope: 'estate:maple', displayName: '李阿姨', password: 'Vol-Li-Pass-2026' },
  { name: 'vol-zhao', role: 'volunteer', scope: 'estate:osmanthus', displayName: '赵师傅', password: 'Vol-Zhao-Pass-2026' },
  { name: 'patrol-chen', role: 'patrol', scope: `grid:${GRID.id}`, displayName: '陈巡逻', password: 'Patrol-Old-2026' },
  { name: 'vol-old', role: 'volunteer', scope: 'estate:maple', displayName: '老志愿者', password: 'Vol-Old-Pass-2026' },
] as const;
/** patrol-chen's password after `hub user passwd`. */
const PATROL_NEW_PASSWORD = 'Patrol-New-2026';
const CAM = { username: 'operator', password: 'Cam-Secret-2718' };

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run -s build` first');
  const work = mkdtempSync(join(tmpdir(), 'rb-legacy-fixture-'));
  const dataDir = join(work, 'hub');
  mkdirSync(dataDir);
  const ids: Record<string, string> = {};
  try {
    // ---- The admin CLI, hub not running yet: places, gateways, people.
    await cli(['street', 'add', '--data-dir', dataDir, '--street', STREET.id, '--name', STREET.name]);
    await cli(['grid', 'add', '--data-dir', dataDir, '--grid', GRID.id, '--street', STREET.id, '--name', GRID.name]);
    for (const e of ESTATES) {
      await cli(['estate', 'add', '--data-dir', dataDir, '--estate', e.id, '--name', e.name, ...(e.grid ? ['--grid', e.grid] : ['--street', e.street!])]);
    }
    type Creds = { estate: string; gateway: string; username: string; password: string };
    const gwMaple = (await cli(['gateway', 'add', '--data-dir', dataDir, '--estate', 'maple', '--gateway', 'gw-maple'])) as Creds;
    const gwOsm = (await cli(['gateway', 'add', '--data-dir', dataDir, '--estate', 'osmanthus', '--gateway', 'gw-osmanthus'])) as Creds;
    for (const u of USERS) {
      const added = (await cli(['user', 'add', '--data-dir', dataDir, '--name', u.name, '--role', u.role, '--scope', u.scope, '--display-name', u.displayName, '--password', u.password])) as {
        id: string;
      };
      ids[u.name] = added.id;
    }
    await cli(['user', 'passwd', '--data-dir', dataDir, '--name', 'patrol-chen', '--password', PATROL_NEW_PASSWORD]);
    await cli(['user', 'disable', '--data-dir', dataDir, '--name', 'vol-old']);

    // ---- The hub, as `red-butler hub` builds it.
    const config = resolveHubConfig({ dataDir, host: '127.0.0.1', http: { port: 0 }, mqtt: { port: 0 }, auth: { apiToken: API_TOKEN }, timeZone: 'Asia/Shanghai', logLevel: 'warn' }, {});
    const hub = createHub({ config, log });
    await hub.start();
    const http = `http://127.0.0.1:${hub.httpAddress().port}`;
    const mqttPort = hub.mqttAddress().port;
    const api = async (method: string, path: string, token: string | null, body?: unknown) => {
      const res = await fetch(http + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return { status: res.status, json };
    };
    const must = async (method: string, path: string, token: string | null, body?: unknown, status = [200, 201]) => {
      const r = await api(method, path, token, body);
      if (!status.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    const login = async (name: string, password: string) => (await must('POST', '/api/v1/auth/login', null, { name, password })) as { token: string; refreshToken: string };

    const admin = await login('admin-wang', USERS[0].password);
    const center = await login('center-liu', USERS[1].password);
    const volLi = await login('vol-li', USERS[2].password);
    const volZhao = await login('vol-zhao', USERS[3].password);
    await login('patrol-chen', PATROL_NEW_PASSWORD);
    const failed = await api('POST', '/api/v1/auth/login', null, { name: 'patrol-chen', password: USERS[4].password });
    if (failed.status !== 401) throw new Error(`the old password of patrol-chen answered ${failed.status}`);
    const disabled = await api('POST', '/api/v1/auth/login', null, { name: 'vol-old', password: USERS[5].password });
    if (disabled.status !== 401) throw new Error(`the disabled vol-old logged in: ${disabled.status}`);
    await must('POST', '/api/v1/auth/logout', null, { refreshToken: center.refreshToken });

    // Roster: vol-li on duty at maple around the clock, vol-zhao on weekday evenings at osmanthus.
    const shifts: string[] = [];
    for (let weekday = 1; weekday <= 7; weekday++) {
      const s = (await must('POST', '/api/v1/roster/shifts', admin.token, { user: ids['vol-li'], estate: 'maple', weekday, start: '00:00', end: '24:00' })) as { id: string };
      shifts.push(s.id);
    }
    for (let weekday = 1; weekday <= 5; weekday++) {
      const s = (await must('POST', '/api/v1/roster/shifts', admin.token, { user: ids['vol-zhao'], estate: 'osmanthus', weekday, start: '18:00', end: '23:00' })) as { id: string };
      shifts.push(s.id);
    }
    // vol-zhao is away over New Year 2027 (an exception to her shifts).
    const exception = (await must('POST', '/api/v1/roster/exceptions', admin.token, { user: ids['vol-zhao'], estate: 'osmanthus', from: Date.UTC(2026, 11, 31, 16), to: Date.UTC(2027, 0, 3, 16), kind: 'off' })) as { id: string };
    // Alert settings changed by the center for maple.
    const settings = await must('PUT', '/api/v1/estates/maple/alert-settings', center.token, { escalation: { ackMinutes: [3, 10, 20], renotifyMinutes: 5 }, clearAfterS: 120 });

    // ---- A poison message first (a technician's test publish with the osmanthus gateway's account): a dead letter.
    const raw = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: clientIdFor('osmanthus', 'gw-osmanthus'),
      username: gwOsm.username,
      password: gwOsm.password,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    await raw.publishAsync(topics.event('osmanthus', 'gw-osmanthus', 'gate-west'), '{"v":1,"id":', { qos: 1 });
    await raw.endAsync();

    // ---- Real gateways with real (simulated) devices.
    const camera = createOnvifSimulator({ ...CAM, name: 'CAM EAST', maxPullWaitMs: 1_000, discoveryPort: false });
    await camera.start();
    const gatewayConfig = (creds: Creds, devices: unknown[]) =>
      validateGatewayConfig({
        estate: creds.estate,
        gateway: creds.gateway,
        dataDir: join(work, creds.gateway),
        hub: { url: `mqtt://127.0.0.1:${mqttPort}`, httpUrl: http, username: creds.username, password: creds.password, keepaliveS: 10 },
        privacy: { salt: 'fixture-salt-0123456789abcdef' },
        devicePush: { host: '127.0.0.1', port: 0 },
        uplink: { maxInflight: 100, backoffMinMs: 100, backoffMaxMs: 1_000 },
        heartbeatS: 30,
        log: { level: 'warn' },
        devices,
      });
    const gateways: Gateway[] = [];
    const startGateway = async (creds: Creds, devices: unknown[]) => {
      const g = createGateway({ config: gatewayConfig(creds, devices), log: log.child({ gateway: creds.gateway }) });
      await g.start();
      gateways.push(g);
      await waitFor(`${creds.gateway} connected`, () => g.uplink.connected());
      return g;
    };
    const gMaple = await startGateway(gwMaple, [
      { id: 'gate-east', driver: 'hikvision-isapi', name: '东门', options: {}, cameras: ['cam-east'] },
      { id: 'door-north', driver: 'hikvision-isapi', name: '北门', options: {} },
      { id: 'cam-east', driver: 'onvif', name: '东门摄像头', options: { address: camera.deviceUrl(), ...CAM, pullTimeoutS: 1, requestTimeoutMs: 2_000 } },
    ]);
    const gOsm = await startGateway(gwOsm, [{ id: 'gate-west', driver: 'hikvision-isapi', name: '西门', options: {} }]);
    const sims: AccessGateSimulator[] = [];
    const sim = (g: Gateway, device: string) => {
      const s = createAccessGateSimulator({ target: `http://127.0.0.1:${g.pushAddress().port}/isapi/${device}`, deviceName: device, format: 'json', random: seeded(device.length) });
      sims.push(s);
      return s;
    };
    const east = sim(gMaple, 'gate-east');
    const north = sim(gMaple, 'door-north');
    const west = sim(gOsm, 'gate-west');
    let sent = 0;
    const send = async (s: AccessGateSimulator, kind: SimKind) => {
      const r = await s.send(kind);
      if (r.status !== 200) throw new Error(`device push ${kind}: ${r.status}`);
      sent++;
    };

    // vol-li's phone is connected (Socket.IO), as on duty.
    const phone = ioClient(http, { auth: { token: volLi.token }, transports: ['websocket'], reconnection: false });
    const notified: string[] = [];
    phone.on('alert:notify', (env: { data: { alert: { id: string } } }) => notified.push(env.data.alert.id));
    await new Promise<void>((resolve, reject) => {
      phone.once('connect', () => resolve());
      phone.once('connect_error', reject);
    });

    // An ordinary evening.
    for (const kind of ['card-ok', 'door-open', 'door-close', 'face-ok', 'door-open', 'door-close', 'card-unknown', 'face-fail'] as const) await send(east, kind);
    for (const kind of ['card-ok', 'door-open', 'door-close'] as const) await send(north, kind);
    for (const kind of ['card-ok', 'door-open', 'door-close', 'face-ok', 'door-open', 'door-close'] as const) await send(west, kind);

    // Alert 1: the east gate forced; the camera's snapshot is linked; vol-li acknowledges with a note,
    // the center comments; the gate stays open (alert left acknowledged).
    await send(east, 'forced');
    await waitFor('alert:notify for the east gate', () => notified.length >= 1);
    const alertEast = notified[0]!;
    await waitFor('the snapshot linked to the east gate alert', async () => ((await must('GET', `/api/v1/alerts/${alertEast}`, API_TOKEN)) as { snapshots?: unknown[] }).snapshots?.length === 1, 20_000);
    await must('POST', `/api/v1/alerts/${alertEast}/ack`, volLi.token, { note: '到场查看，门锁坏了' });
    await must('POST', `/api/v1/alerts/${alertEast}/comment`, center.token, { text: '已通知物业维修' });

    // Alert 2: the north door forced, acknowledged, closed, resolved by vol-li with a note.
    await send(north, 'forced');
    await waitFor('alert:notify for the north door', () => notified.length >= 2);
    const alertNorth = notified.find((id) => id !== alertEast)!;
    await must('POST', `/api/v1/alerts/${alertNorth}/ack`, volLi.token, {});
    await send(north, 'door-close');
    await waitFor('the north door alert stamped closed', async () => typeof ((await must('GET', `/api/v1/alerts/${alertNorth}`, API_TOKEN)) as { conditionClearedAt?: number }).conditionClearedAt === 'number');
    await must('POST', `/api/v1/alerts/${alertNorth}/resolve`, volLi.token, { note: '门已关好，锁已检查' });

    // A hand-over note from vol-li; vol-zhao reads her estate; a personal-data read by the center.
    const handover = (await must('POST', '/api/v1/roster/handover', volLi.token, { estate: 'maple', note: '东门锁坏了，已报修；北门正常' })) as { id: string };
    await must('GET', '/api/v1/roster/handover?estate=osmanthus', volZhao.token);
    await must('GET', '/api/v1/events?estate=maple&limit=5', center.token);

    // Every event stored, then the osmanthus gateway goes away and the admin revokes it.
    await waitFor('every event stored', async () => (await countEvents(http)) >= sent, 20_000);
    await gOsm.stop();
    gateways.splice(gateways.indexOf(gOsm), 1);
    await cli(['gateway', 'revoke', '--data-dir', dataDir, '--estate', 'osmanthus', '--gateway', 'gw-osmanthus']);
    await waitFor('the revoke seen by the hub', async () => {
      const list = (await must('GET', '/api/v1/admin/gateways', API_TOKEN)) as unknown as Array<{ gateway: string; revoked?: boolean; revokedAt?: number }> | { items: Array<{ gateway: string; revoked?: boolean; revokedAt?: number }> };
      const items = Array.isArray(list) ? list : list.items;
      const g = items.find((x) => x.gateway === 'gw-osmanthus');
      return Boolean(g && (g.revoked || g.revokedAt));
    });

    // What the upgrade must keep, as the API of this release shows it.
    // (Reads of personal data are audited, so the audit log is read last.)
    const events = await fetchEvents(http);
    const seen = {
      events,
      users: ((await must('GET', '/api/v1/users', admin.token)) as { items: unknown[] }).items,
      gateways: ((await must('GET', '/api/v1/admin/gateways', API_TOKEN)) as { items: unknown[] }).items,
      alerts: ((await must('GET', '/api/v1/alerts?limit=50', API_TOKEN)) as { items: unknown[] }).items,
      deadLetters: ((await must('GET', '/api/v1/admin/dead-letters', API_TOKEN)) as { items: unknown[] }).items,
      audit: ((await must('GET', '/api/v1/audit?limit=1000', API_TOKEN)) as { items: unknown[] }).items,
    };

    // ---- Stop everything cleanly.
    phone.close();
    for (const s of sims) s.stop();
    for (const g of gateways.splice(0)) await g.stop();
    await camera.stop();
    await hub.stop();

    // ---- Every SQLite file whole by itself, then counted.
    const tables = checkpointAndCount(dataDir);
    // What the API showed is what the files hold.
    const apiCounts = { users: seen.users.length, gateways: seen.gateways.length, alerts: seen.alerts.length, events: seen.events.length, deadLetters: seen.deadLetters.length, audit: seen.audit.length };
    const fileCounts = { users: tables['people.db']!.users, gateways: tables['registry.db']!.gateways, alerts: tables['alerts.db']!.alerts, events: tables['events.db']!.events, deadLetters: tables['hub.db']!.dead_letters, audit: tables['hub.db']!.audit };
    if (JSON.stringify(apiCounts) !== JSON.stringify(fileCounts)) throw new Error(`API ${JSON.stringify(apiCounts)} but files ${JSON.stringify(fileCounts)}`);
    const leftovers = readdirSync(dataDir).filter((f) => f.endsWith('-wal') || f.endsWith('-shm') || f.endsWith('-journal'));
    if (leftovers.length > 0) throw new Error(`not checkpointed: ${leftovers.join(', ')}`);

    // ---- Copy into the fixture folder with its description.
    rmSync(OUT, { recursive: true, force: true });
    cpSync(dataDir, OUT, { recursive: true });
    const listing = walk(OUT).map((f) => ({ file: relative(OUT, f), bytes: statSync(f).size }));
    const total = listing.reduce((s, f) => s + f.bytes, 0);
    if (total > 1024 * 1024) throw new Error(`the fixture is ${total} bytes, over 1 MiB`);
    const manifest = {
      madeBy: 'scripts/make-legacy-fixture.ts',
      madeAt: new Date().toISOString(),
      commit: await gitCommit(ROOT),
      apiToken: API_TOKEN,
      street: STREET,
      grid: GRID,
      estates: ESTATES,
      users: USERS.map((u) => ({
        id: ids[u.name],
        name: u.name,
        role: u.role,
        scope: u.scope,
        displayName: u.displayName,
        password: u.name === 'patrol-chen' ? PATROL_NEW_PASSWORD : u.password,
        disabled: u.name === 'vol-old',
      })),
      gateways: [
        { estate: 'maple', gateway: 'gw-maple', password: gwMaple.password, revoked: false, devices: ['gate-east', 'door-north', 'cam-east'] },
        { estate: 'osmanthus', gateway: 'gw-osmanthus', password: gwOsm.password, revoked: true, devices: ['gate-west'] },
      ],
      alerts: {
        acknowledgedOpen: { id: alertEast, estate: 'maple', device: 'gate-east', rule: 'door.forced', note: '到场查看，门锁坏了', comment: '已通知物业维修', snapshots: 1 },
        resolved: { id: alertNorth, estate: 'maple', device: 'door-north', rule: 'door.forced', note: '门已关好，锁已检查' },
      },
      shifts,
      rosterException: { id: exception.id, user: 'vol-zhao', estate: 'osmanthus', kind: 'off', from: '2027-01-01T00:00+08:00', to: '2027-01-04T00:00+08:00' },
      handover: { id: handover.id, estate: 'maple', note: '东门锁坏了，已报修；北门正常' },
      alertSettings: { estate: 'maple', saved: settings },
      devicePushesSent: sent,
      counts: {
        users: tables['people.db']!.users,
        gateways: tables['registry.db']!.gateways,
        devices: tables['registry.db']!.devices,
        alerts: tables['alerts.db']!.alerts,
        audit: tables['hub.db']!.audit,
        events: tables['events.db']!.events,
        deadLetters: tables['hub.db']!.dead_letters,
        pushLog: tables['push.db']!.push_log,
        shifts: tables['people.db']!.shifts,
        rosterExceptions: tables['people.db']!.roster_exceptions,
        handovers: tables['people.db']!.handovers,
        snapshotLinks: tables['snapshots.db']!.links,
      },
      tables,
      files: listing,
      api: seen,
    };
    writeFileSync(join(OUT, 'fixture.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(OUT, 'README.md'), readme(manifest, total));
    process.stdout.write(`${OUT}: ${listing.length} files, ${total} bytes; counts ${JSON.stringify(manifest.counts)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function fetchEvents(http: string): Promise<unknown[]> {
  const res = await fetch(`${http}/api/v1/events?limit=1000`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  return ((await res.json()) as { items: unknown[] }).items;
}
const countEvents = async (http: string): Promise<number> => (await fetchEvents(http)).length;

/** A small deterministic random source, so the simulated card numbers are the same every run. */
function seeded(seed: number): () => number {
  let s = seed * 2654435761;
  return () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
