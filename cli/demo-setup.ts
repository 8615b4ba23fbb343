import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Hub } from '../hub/hub-types.js';
import { freePort, waitForPort } from '../lib/cluster/launcher.js';
import { seedDemoPatrol } from '../hub/patrol/demo.js';
import { DEMO_USERS, demoAlertSettings, ESTATES, GATEWAY, gatewayConfig, GRID, ownPortDevices, planEstate, STREET, type Ports } from './demo-street.js';

/**
 * The parts `red-butler demo` and `demo --cluster` share: the street in the hub database (registry,
 * alert settings, people, shifts, one gateway per estate), the gateway configs and simulator plan
 * as files, and the child processes (simulator, gateways) of this same CLI.
 */

/** A secret kept in the data dir (the estate salt, the API token), the same across demo restarts. */
export function demoSecret(dataDir: string, name: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const salt = randomBytes(24).toString('base64url');
  writeFileSync(file, salt, { mode: 0o600 });
  return salt;
}

/** `red-butler ...args` as a child (process.argv[1] is this CLI's entry: the same build as the parent). */
export function child(args: string[], name: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const proc = spawn(process.execPath, [process.argv[1]!, ...args], { stdio: ['ignore', 'inherit', 'inherit'], ...(env && { env: { ...process.env, ...env } }) });
  proc.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`demo: ${name} exited with code ${code}\n`);
  });
  return proc;
}

/** SIGTERM by PID, SIGKILL after 5 s; resolves once it has exited. */
export async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface StreetFiles {
  /** Gateway config files, one per estate. */
  configs: string[];
  plan: string;
  devicePorts: number[];
  credentials: Array<{ estate: string; gateway: string; username: string; password: string }>;
}

/**
 * Put the demo street into the hub (idempotent for people and shifts) and write the gateway configs
 * (pointed at `hubAccess`: the hub itself, or HAProxy in a cluster) and the simulator plan.
 */
export async function seedStreet(hub: Hub, o: { dataDir: string; pushPort: number; hubAccess: { mqttPort: number; httpPort: number }; level: string }): Promise<StreetFiles> {
  await hub.registry.addStreet(STREET.id, STREET.name);
  await hub.registry.addGrid(GRID.id, { street: STREET.id, name: GRID.name });
  for (const e of ESTATES) {
    await hub.registry.addEstate(e.id, { street: STREET.id, grid: GRID.id, name: e.name });
    await hub.alertStore.saveSettings(e.id, demoAlertSettings(e));
  }
  await hub.alerts.wake();
  // A patrol round (巡更) in the first estate, on every hour.
  await seedDemoPatrol(hub.patrol, ESTATES[0]!.id);
  for (const u of DEMO_USERS) {
    const user = hub.people.users.find(u.name) ?? (await hub.people.users.add({ ...u, scopes: [...u.scopes] }));
    if (u.role === 'volunteer' && hub.roster.listShifts({ user: user.id }).length === 0) {
      for (let weekday = 1; weekday <= 7; weekday++) await hub.roster.addShift({ user: user.id, estate: u.scopes[0].slice(7), weekday, start: '00:00', end: '24:00' });
    }
  }
  const salt = demoSecret(o.dataDir, 'demo-salt');
  // Every device that serves (ISAPI door and barrier control, the ONVIF camera) gets a port.
  const out: StreetFiles = { configs: [], plan: join(o.dataDir, 'simulate-plan.yaml'), devicePorts: [], credentials: [] };
  const planEstates: Array<Record<string, unknown>> = [];
  for (const [i, e] of ESTATES.entries()) {
    const device = new Map<string, number>();
    for (const id of ownPortDevices(e)) device.set(id, await freePort());
    out.devicePorts.push(...device.values());
    const ports: Ports = { push: o.pushPort + i, device };
    const creds = await hub.registry.addGateway(e.id, GATEWAY);
    out.credentials.push(creds);
    const file = join(o.dataDir, i === 0 ? 'gateway.yaml' : `gateway-${i + 1}.yaml`);
    const hubAccess = { ...o.hubAccess, username: creds.username, password: creds.password };
    writeFileSync(file, stringify(gatewayConfig(e, ports, hubAccess, { salt, dataDir: join(o.dataDir, i === 0 ? 'gateway' : `gateway-${i + 1}`), level: o.level })), { mode: 0o600 });
    out.configs.push(file);
    planEstates.push(planEstate(e, ports));
  }
  writeFileSync(out.plan, stringify({ estates: planEstates }), { mode: 0o600 });
  return out;
}

/** The simulator (devices first, as in an estate where they were there before the gateway), then its gateways. */
export async function startStreet(files: StreetFiles, o: { rate: number; incidentPeriod: number }): Promise<{ simulator: ChildProcess; gateways: ChildProcess[] }> {
  const simulator = child(
    ['simulate', '--plan', files.plan, '--scenario', 'demo', '--rate', String(o.rate), '--incident-period', String(o.incidentPeriod), '--duration', '31536000', '--progress-every', '60'],
    'simulator',
  );
  const up = await Promise.all(files.devicePorts.map((p) => waitForPort(p, 15_000).then(() => true, () => false)));
  if (up.some((u) => !u)) process.stderr.write('demo: some simulated devices are not listening yet; the gateways will retry\n');
  const gateways = files.configs.map((file, i) => child(['gateway', '--config', file], `gateway-${i + 1}`));
  return { simulator, gateways };
}
