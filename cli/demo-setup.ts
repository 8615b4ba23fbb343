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

/** The simulator's side of the street: its plan file and every port, chosen before any hub exists. */
export interface StreetPlan {
  plan: string;
  /** Per estate (ESTATES order): its gateway's push port and its devices' own ports. */
  ports: Ports[];
  devicePorts: number[];
}

export interface StreetFiles {
  /** Gateway config files, one per estate. */
  configs: string[];
  credentials: Array<{ estate: string; gateway: string; username: string; password: string }>;
}

/**
 * The simulator's plan: a port for every device that serves (ISAPI door and barrier control, the
 * ONVIF camera) and the gateways' push ports. Nothing of it needs the hub, so the devices can come
 * up while the hub does (as in an estate, where they were there before the gateway).
 */
export async function planStreet(o: { dataDir: string; pushPort: number }): Promise<StreetPlan> {
  mkdirSync(o.dataDir, { recursive: true });
  const out: StreetPlan = { plan: join(o.dataDir, 'simulate-plan.yaml'), ports: [], devicePorts: [] };
  for (const [i, e] of ESTATES.entries()) {
    const device = new Map<string, number>();
    for (const id of ownPortDevices(e)) device.set(id, await freePort());
    out.devicePorts.push(...device.values());
    out.ports.push({ push: o.pushPort + i, device });
  }
  writeFileSync(out.plan, stringify({ estates: ESTATES.map((e, i) => planEstate(e, out.ports[i]!)) }), { mode: 0o600 });
  return out;
}

/**
 * Put the demo street into the hub (idempotent for people and shifts) and write the gateway configs
 * (pointed at `hubAccess`: the hub itself, or HAProxy in a cluster). The gateways first: they are on
 * the way to the first alert; the people (a scrypt hash each, side by side) and the patrol round follow.
 */
export async function seedStreet(hub: Hub, street: StreetPlan, o: { dataDir: string; hubAccess: { mqttPort: number; httpPort: number }; level: string }): Promise<StreetFiles> {
  await hub.registry.addStreet(STREET.id, STREET.name);
  await hub.registry.addGrid(GRID.id, { street: STREET.id, name: GRID.name });
  for (const e of ESTATES) {
    await hub.registry.addEstate(e.id, { street: STREET.id, grid: GRID.id, name: e.name });
    await hub.alertStore.saveSettings(e.id, demoAlertSettings(e));
  }
  await hub.alerts.wake();
  const salt = demoSecret(o.dataDir, 'demo-salt');
  const out: StreetFiles = { configs: [], credentials: [] };
  const creds = await Promise.all(ESTATES.map((e) => hub.registry.addGateway(e.id, GATEWAY)));
  for (const [i, e] of ESTATES.entries()) {
    out.credentials.push(creds[i]!);
    const file = join(o.dataDir, i === 0 ? 'gateway.yaml' : `gateway-${i + 1}.yaml`);
    const hubAccess = { ...o.hubAccess, username: creds[i]!.username, password: creds[i]!.password };
    writeFileSync(file, stringify(gatewayConfig(e, street.ports[i]!, hubAccess, { salt, dataDir: join(o.dataDir, i === 0 ? 'gateway' : `gateway-${i + 1}`), level: o.level })), { mode: 0o600 });
    out.configs.push(file);
  }
  const users = await Promise.all(DEMO_USERS.map(async (u) => ({ u, user: hub.people.users.find(u.name) ?? (await hub.people.users.add({ ...u, scopes: [...u.scopes] })) })));
  for (const { u, user } of users) {
    if (u.role === 'volunteer' && hub.roster.listShifts({ user: user.id }).length === 0) {
      for (let weekday = 1; weekday <= 7; weekday++) await hub.roster.addShift({ user: user.id, estate: u.scopes[0].slice(7), weekday, start: '00:00', end: '24:00' });
    }
  }
  // A patrol round (巡更) in the first estate, on every hour.
  await seedDemoPatrol(hub.patrol, ESTATES[0]!.id);
  return out;
}

/** The simulated devices of the whole street (`red-butler simulate --plan`). */
export function startSimulator(street: StreetPlan, o: { rate: number; incidentPeriod: number }): ChildProcess {
  return child(
    ['simulate', '--plan', street.plan, '--scenario', 'demo', '--rate', String(o.rate), '--incident-period', String(o.incidentPeriod), '--duration', '31536000', '--progress-every', '60'],
    'simulator',
  );
}

/** The gateways, once their devices listen (a gateway asks its camera who it is as it starts). */
export async function startGateways(street: StreetPlan, files: StreetFiles): Promise<ChildProcess[]> {
  const up = await Promise.all(street.devicePorts.map((p) => waitForPort(p, 15_000).then(() => true, () => false)));
  if (up.some((u) => !u)) process.stderr.write('demo: some simulated devices are not listening yet; the gateways will retry\n');
  return files.configs.map((file, i) => child(['gateway', '--config', file], `gateway-${i + 1}`));
}
