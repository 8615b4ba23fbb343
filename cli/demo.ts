import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { createHub } from '../hub/main.js';
import { resolveHubConfig } from '../hub/config.js';
import { createLogger } from '../lib/log.js';
import { exitOnConfigError, intOption, numberOption, logLevelOption } from './util.js';

const STREET = { id: 'demo-street', name: '幸福街道' };
const GRID = { id: 'demo-grid', name: '第一网格' };
const ESTATE = 'demo-estate';
const ESTATE_NAME = '枫林苑';
/** A second, smaller estate of the same street (one gate, one barrier), so the street has two tiles. */
const ESTATE_2 = { id: 'demo-estate-2', name: '桂花园', gate: 'gate-main', barrier: 'barrier-main' };
const GATEWAY = 'gw-1';
/**
 * Demo people, one per role, with passwords everyone can read in the README: this is a demo on
 * localhost. The volunteer is on duty around the clock.
 */
export const DEMO_USERS = [
  { name: 'volunteer', displayName: '王志愿', role: 'volunteer', scopes: [`estate:${ESTATE}`], password: 'demo-volunteer' },
  { name: 'volunteer2', displayName: '李志愿', role: 'volunteer', scopes: [`estate:${ESTATE_2.id}`], password: 'demo-volunteer' },
  { name: 'patrol', displayName: '赵巡查', role: 'patrol', scopes: [`grid:${GRID.id}`], password: 'demo-patrol' },
  { name: 'center', displayName: '街道物业服务中心', role: 'center', scopes: [`street:${STREET.id}`], password: 'demo-center' },
] as const;
/** The demo estate: two Hikvision access gates, a ZKTeco controller, a barrier with ANPR and a camera. */
const ACCESS_GATES = [
  { id: 'gate-east', name: '东门' },
  { id: 'gate-north', name: '北门' },
];
const ZKTECO = { id: 'gate-south', name: '南门', serialNumber: 'ZKDEMO0001' };
const BARRIER = { id: 'barrier-1', name: '车库道闸' };
const CAMERA = { id: 'cam-east', name: '东门摄像机', username: 'admin', password: 'demo-camera-pass' };

/** A TCP port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolvePort(port));
    });
  });
}

interface DemoOptions {
  httpPort?: number;
  mqttPort?: number;
  pushPort: number;
  dataDir: string;
  rate: number;
}

/** A secret kept in the data dir (the estate salt, the API token), the same across demo restarts. */
function demoSecret(dataDir: string, name: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const salt = randomBytes(24).toString('base64url');
  writeFileSync(file, salt, { mode: 0o600 });
  return salt;
}

function child(args: string[], name: string): ChildProcess {
  // process.argv[1] is this CLI's entry script, so children run the same build as the parent.
  const proc = spawn(process.execPath, [process.argv[1]!, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  proc.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`demo: ${name} exited with code ${code}\n`);
  });
  return proc;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a whole estate on this machine: hub + one gateway + simulated access gates, barrier and camera, embedded storage')
    .option('--http-port <port>', 'hub HTTP port (env RB_HTTP_PORT, default 8080)', intOption('--http-port'))
    .option('--mqtt-port <port>', 'hub MQTT port (env RB_MQTT_PORT, default 1883)', intOption('--mqtt-port'))
    .option('--push-port <port>', "first gateway's device push port (the second estate's gateway takes the next one)", intOption('--push-port'), 8091)
    .option('--data-dir <dir>', 'demo data folder (env RB_DATA_DIR)', process.env.RB_DATA_DIR ?? '.rb-demo')
    .addOption(logLevelOption())
    .option('--rate <n>', 'simulated device events per second', numberOption('--rate'), 3)
    .action(async (opts: DemoOptions, cmd: Command) => {
      const dataDir = resolve(opts.dataDir);
      const level = (cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? 'warn';
      let config;
      try {
        config = resolveHubConfig({
          dataDir,
          httpPort: opts.httpPort,
          mqttPort: opts.mqttPort,
          host: process.env.RB_HOST ?? '127.0.0.1',
          logLevel: level as 'warn',
          apiToken: process.env.RB_API_TOKEN ?? demoSecret(dataDir, 'demo-api-token'),
        });
      } catch (err) {
        exitOnConfigError(err);
      }
      const log = createLogger({ name: 'demo', level });
      const hub = createHub({ config, log });
      await hub.start();
      hub.registry.addStreet(STREET.id, STREET.name);
      hub.registry.addGrid(GRID.id, { street: STREET.id, name: GRID.name });
      hub.registry.addEstate(ESTATE, { street: STREET.id, grid: GRID.id, name: ESTATE_NAME });
      hub.registry.addEstate(ESTATE_2.id, { street: STREET.id, grid: GRID.id, name: ESTATE_2.name });
      for (const u of DEMO_USERS) {
        const user = hub.people.users.find(u.name) ?? (await hub.people.users.add({ ...u, scopes: [...u.scopes] }));
        if (u.role === 'volunteer' && hub.roster.listShifts({ user: user.id }).length === 0) {
          for (let weekday = 1; weekday <= 7; weekday++) hub.roster.addShift({ user: user.id, estate: u.scopes[0].slice(7), weekday, start: '00:00', end: '24:00' });
        }
      }
      const creds = await hub.registry.addGateway(ESTATE, GATEWAY);
      const creds2 = await hub.registry.addGateway(ESTATE_2.id, GATEWAY);
      const mqtt = hub.mqttAddress();
      const http = hub.httpAddress();

      const cameraPort = await freePort();
      const gatewayConfig = join(dataDir, 'gateway.yaml');
      writeFileSync(
        gatewayConfig,
        stringify({
          estate: ESTATE,
          gateway: GATEWAY,
          hub: { url: `mqtt://127.0.0.1:${mqtt.port}`, httpUrl: `http://127.0.0.1:${http.port}`, username: creds.username, password: creds.password },
          privacy: { salt: demoSecret(dataDir, 'demo-salt') },
          dataDir: join(dataDir, 'gateway'),
          devicePush: { host: '127.0.0.1', port: opts.pushPort },
          heartbeatS: 15,
          log: { level },
          devices: [
            // The east gate's alarms come with a snapshot from the east camera.
            ...ACCESS_GATES.map((d, i) => ({ id: d.id, driver: 'hikvision-isapi', name: d.name, ...(i === 0 ? { cameras: [CAMERA.id] } : {}) })),
            { id: ZKTECO.id, driver: 'zkteco-adms', name: ZKTECO.name, options: { serialNumber: ZKTECO.serialNumber } },
            { id: BARRIER.id, driver: 'hikvision-anpr', name: BARRIER.name, options: { lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] } },
            {
              id: CAMERA.id,
              driver: 'onvif',
              name: CAMERA.name,
              options: { address: `http://127.0.0.1:${cameraPort}/onvif/device_service`, username: CAMERA.username, password: CAMERA.password },
            },
          ],
        }),
        { mode: 0o600 },
      );
      const gatewayConfig2 = join(dataDir, 'gateway-2.yaml');
      writeFileSync(
        gatewayConfig2,
        stringify({
          estate: ESTATE_2.id,
          gateway: GATEWAY,
          hub: { url: `mqtt://127.0.0.1:${mqtt.port}`, httpUrl: `http://127.0.0.1:${http.port}`, username: creds2.username, password: creds2.password },
          privacy: { salt: demoSecret(dataDir, 'demo-salt') },
          dataDir: join(dataDir, 'gateway-2'),
          devicePush: { host: '127.0.0.1', port: opts.pushPort + 1 },
          heartbeatS: 15,
          log: { level },
          devices: [
            { id: ESTATE_2.gate, driver: 'hikvision-isapi', name: '正门' },
            { id: ESTATE_2.barrier, driver: 'hikvision-anpr', name: '道闸', options: { lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] } },
          ],
        }),
        { mode: 0o600 },
      );
      let up = 0;
      const connected = new Promise<void>((r) => hub.bus.on('gateway.connection', (c) => {
        if (c.connected && ++up === 2) r();
      }));
      const children = [child(['gateway', '--config', gatewayConfig], 'gateway'), child(['gateway', '--config', gatewayConfig2], 'gateway-2')];
      await Promise.race([connected, new Promise((r) => setTimeout(r, 15_000))]);
      // The simulated estate: every device kind, normal-day traffic. The camera is served by the
      // simulator on the port the gateway config points at.
      const plan = join(dataDir, 'simulate-plan.yaml');
      writeFileSync(
        plan,
        stringify({
          estates: [
            {
              estate: ESTATE,
              gatewayUrl: `http://127.0.0.1:${opts.pushPort}`,
              accessGates: ACCESS_GATES.map((d) => d.id),
              zkteco: [ZKTECO.serialNumber],
              barriers: [BARRIER.id],
              cameras: [{ id: CAMERA.id, port: cameraPort, username: CAMERA.username, password: CAMERA.password }],
            },
            { estate: ESTATE_2.id, gatewayUrl: `http://127.0.0.1:${opts.pushPort + 1}`, accessGates: [ESTATE_2.gate], barriers: [ESTATE_2.barrier] },
          ],
        }),
      );
      children.push(
        child(['simulate', '--plan', plan, '--scenario', 'normal-day', '--rate', String(opts.rate), '--duration', '31536000', '--progress-every', '60'], 'simulator'),
      );

      const url = `http://127.0.0.1:${http.port}/`;
      process.stdout.write(
        [
          '',
          '红管家 Red Butler demo is running',
          `  screens:         ${url}  (log in as one of the people below)`,
          ...DEMO_USERS.map((u) => `    ${u.role.padEnd(9)} ${u.name.padEnd(10)} password ${u.password}`),
          `  command center:  ${url}estate/${ESTATE}   street overview: ${url}street`,
          `  events API:      ${url}api/v1/events?limit=20`,
          `  metrics:         ${url}metrics`,
          `  MQTT broker:     mqtt://127.0.0.1:${mqtt.port}`,
          `  gateway config:  ${gatewayConfig}`,
          `  gateway credentials: ${JSON.stringify(creds)}`,
          `  API token (admin, scripts): ${config.apiToken}`,
          '  Ctrl+C stops everything.',
          '',
        ].join('\n'),
      );

      let stopping = false;
      const stop = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        process.stdout.write('demo: stopping…\n');
        for (const proc of children.reverse()) await stopChild(proc);
        await hub.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
}
