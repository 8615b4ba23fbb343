import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { createHub } from '../hub/main.js';
import { resolveHubConfig } from '../hub/config.js';
import { createLogger } from '../lib/log.js';
import { DEMO_USERS, demoAlertSettings, ESTATES, GATEWAY, gatewayConfig, GRID, ownPortDevices, planEstate, STREET, type Ports } from './demo-street.js';
import { exitOnConfigError, intOption, numberOption, logLevelOption } from './util.js';

export { DEMO_USERS };

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

/** Resolves once something accepts connections on 127.0.0.1:port, or after `ms` (false). */
async function listening(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (up) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface DemoOptions {
  httpPort?: number;
  mqttPort?: number;
  pushPort: number;
  dataDir: string;
  rate: number;
  incidentPeriod: number;
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
    .description(
      'run a street of two estates on this machine: hub, one gateway per estate, simulated access gates, ZKTeco controller, barriers and camera ' +
        '(each can be opened from the screens), calm traffic and a round of incidents that raises every kind of alert; embedded storage',
    )
    .option('--http-port <port>', 'hub HTTP port (env RB_HTTP_PORT, default 8080)', intOption('--http-port'))
    .option('--mqtt-port <port>', 'hub MQTT port (env RB_MQTT_PORT, default 1883)', intOption('--mqtt-port'))
    .option('--push-port <port>', "first gateway's device push port (the second estate's gateway takes the next one)", intOption('--push-port'), 8091)
    .option('--data-dir <dir>', 'demo data folder (env RB_DATA_DIR)', process.env.RB_DATA_DIR ?? '.rb-demo')
    .addOption(logLevelOption())
    .option('--rate <n>', 'simulated device events per second (calm background traffic)', numberOption('--rate'), 3)
    .option('--incident-period <seconds>', 'one round of incidents (every kind of alert once) per this many seconds', numberOption('--incident-period'), 600)
    .action(async (opts: DemoOptions, cmd: Command) => {
      const dataDir = resolve(opts.dataDir);
      const level = (cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? 'warn';
      let config;
      try {
        config = resolveHubConfig({
          dataDir,
          http: { port: opts.httpPort },
          mqtt: { port: opts.mqttPort },
          host: process.env.RB_HOST ?? '127.0.0.1',
          logLevel: level as 'warn',
          auth: { apiToken: process.env.RB_AUTH_API_TOKEN ?? process.env.RB_API_TOKEN ?? demoSecret(dataDir, 'demo-api-token') },
        });
      } catch (err) {
        exitOnConfigError(err);
      }
      const log = createLogger({ name: 'demo', level });
      const hub = createHub({ config, log });
      await hub.start();
      await hub.registry.addStreet(STREET.id, STREET.name);
      await hub.registry.addGrid(GRID.id, { street: STREET.id, name: GRID.name });
      for (const e of ESTATES) {
        await hub.registry.addEstate(e.id, { street: STREET.id, grid: GRID.id, name: e.name });
        await hub.alertStore.saveSettings(e.id, demoAlertSettings(e));
      }
      await hub.alerts.wake();
      for (const u of DEMO_USERS) {
        const user = hub.people.users.find(u.name) ?? (await hub.people.users.add({ ...u, scopes: [...u.scopes] }));
        if (u.role === 'volunteer' && hub.roster.listShifts({ user: user.id }).length === 0) {
          for (let weekday = 1; weekday <= 7; weekday++) await hub.roster.addShift({ user: user.id, estate: u.scopes[0].slice(7), weekday, start: '00:00', end: '24:00' });
        }
      }
      const mqtt = hub.mqttAddress();
      const http = hub.httpAddress();
      const salt = demoSecret(dataDir, 'demo-salt');

      // Every device that serves (ISAPI door and barrier control, the ONVIF camera) gets a port.
      const configs: string[] = [];
      const planEstates: Array<Record<string, unknown>> = [];
      const devicePorts: number[] = [];
      const credentials = [];
      for (const [i, e] of ESTATES.entries()) {
        const device = new Map<string, number>();
        for (const id of ownPortDevices(e)) device.set(id, await freePort());
        devicePorts.push(...device.values());
        const ports: Ports = { push: opts.pushPort + i, device };
        const creds = await hub.registry.addGateway(e.id, GATEWAY);
        credentials.push(creds);
        const file = join(dataDir, i === 0 ? 'gateway.yaml' : `gateway-${i + 1}.yaml`);
        const hubAccess = { mqttPort: mqtt.port, httpPort: http.port, username: creds.username, password: creds.password };
        writeFileSync(file, stringify(gatewayConfig(e, ports, hubAccess, { salt, dataDir: join(dataDir, i === 0 ? 'gateway' : `gateway-${i + 1}`), level })), { mode: 0o600 });
        configs.push(file);
        planEstates.push(planEstate(e, ports));
      }
      const plan = join(dataDir, 'simulate-plan.yaml');
      writeFileSync(plan, stringify({ estates: planEstates }), { mode: 0o600 });

      // The devices first, as in an estate where they were there before the gateway: the camera and
      // the ISAPI servers answer from the gateway's first try. Their traffic waits for the gateway.
      const children = [
        child(
          ['simulate', '--plan', plan, '--scenario', 'demo', '--rate', String(opts.rate), '--incident-period', String(opts.incidentPeriod), '--duration', '31536000', '--progress-every', '60'],
          'simulator',
        ),
      ];
      const up = await Promise.all(devicePorts.map((p) => listening(p, 15_000)));
      if (up.some((u) => !u)) process.stderr.write('demo: some simulated devices are not listening yet; the gateways will retry\n');
      let connectedCount = 0;
      const connected = new Promise<void>((r) =>
        hub.bus.on('gateway.connection', (c) => {
          if (c.connected && ++connectedCount === ESTATES.length) r();
        }),
      );
      children.push(...configs.map((file, i) => child(['gateway', '--config', file], `gateway-${i + 1}`)));
      await Promise.race([connected, new Promise((r) => setTimeout(r, 15_000))]);

      const url = `http://127.0.0.1:${http.port}/`;
      process.stdout.write(
        [
          '',
          '红管家 Red Butler demo is running',
          `  screens:         ${url}  (log in as one of the people below)`,
          ...DEMO_USERS.map((u) => `    ${u.role.padEnd(9)} ${u.name.padEnd(10)} password ${u.password}`),
          `  command center:  ${url}estate/${ESTATES[0]!.id}   street overview: ${url}street`,
          `  events API:      ${url}api/v1/events?limit=20`,
          `  metrics:         ${url}metrics`,
          `  MQTT broker:     mqtt://127.0.0.1:${mqtt.port}`,
          `  gateway config:  ${configs.join(', ')}`,
          `  gateway credentials: ${credentials.map((c) => JSON.stringify(c)).join(' ')}`,
          `  API token (admin, scripts): ${config.auth.apiToken}`,
          `  incidents:       every kind of alert once per ${opts.incidentPeriod} s, starting now`,
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
