import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { AccessGateSimulator, SendOptions, SentEvent, SimKind } from '../../devices/access-gate/simulator.js';
import { validateGatewayConfig } from '../../gateway/config.js';
import { createGateway, type Gateway, type GatewayDeps } from '../../gateway/main.js';
import { silentLogger } from '../../lib/log.js';
import type { GatewayCredentials } from '../../hub/registry.js';
import { startCli, stopProcess } from './cli.js';
import { sleep } from './hub.js';

export const TEST_SALT = 'test-salt-0123456789abcdef';

export interface GatewayConfigInput {
  creds: GatewayCredentials;
  mqttPort: number;
  dataDir: string;
  pushPort?: number;
  devices?: Array<{ id: string; options?: Record<string, unknown> }>;
  outbox?: { maxRecords?: number; maxBytes?: number };
  heartbeatS?: number;
  keepaliveS?: number;
}

/** A raw gateway config (as the YAML file holds it) with fast reconnects for tests. */
export function gatewayConfig(c: GatewayConfigInput): Record<string, unknown> {
  return {
    estate: c.creds.estate,
    gateway: c.creds.gateway,
    dataDir: c.dataDir,
    hub: { url: `mqtt://127.0.0.1:${c.mqttPort}`, username: c.creds.username, password: c.creds.password, keepaliveS: c.keepaliveS ?? 10 },
    privacy: { salt: TEST_SALT },
    devicePush: { host: '127.0.0.1', port: c.pushPort ?? 0 },
    outbox: { maxRecords: 1_000_000, maxBytes: 256 * 1024 * 1024, ...c.outbox },
    uplink: { maxInflight: 500, backoffMinMs: 100, backoffMaxMs: 1_000 },
    heartbeatS: c.heartbeatS ?? 30,
    log: { level: 'warn' },
    devices: (c.devices ?? [{ id: 'gate-1' }]).map((d) => ({ id: d.id, driver: 'hikvision-isapi', options: d.options ?? {} })),
  };
}

export async function startGatewayInProcess(raw: Record<string, unknown>, deps: Omit<Partial<GatewayDeps>, 'config'> = {}): Promise<Gateway> {
  const gateway = createGateway({ config: validateGatewayConfig(raw), log: silentLogger(), ...deps });
  await gateway.start();
  return gateway;
}

/** Run `red-butler gateway --config` as its own process; resolves once its push port answers. */
export async function startGatewayProcess(dir: string, raw: Record<string, unknown>, pushPort: number, file = join(dir, `gateway-${Date.now()}.yaml`)) {
  writeFileSync(file, stringify({ ...raw, devicePush: { host: '127.0.0.1', port: pushPort } }));
  const proc = startCli(['gateway', '--config', file]);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${pushPort}/`).catch(() => undefined);
    if (res) break;
    if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}:\n${proc.output()}`);
    if (Date.now() > deadline) {
      await stopProcess(proc, 'SIGKILL');
      throw new Error(`gateway did not open its push port:\n${proc.output()}`);
    }
    await sleep(50);
  }
  return proc;
}

/**
 * Send one event the way a real controller does: re-post the same event (same serialNo and time)
 * until the gateway answers 200, however long it is away.
 */
export async function sendUntilOk(sim: AccessGateSimulator, kind: SimKind, opts: SendOptions, giveUpMs = 60_000): Promise<SentEvent> {
  const deadline = Date.now() + giveUpMs;
  for (;;) {
    try {
      const sent = await sim.send(kind, opts);
      if (sent.status === 200) return sent;
    } catch {
      // connection refused or reset: the gateway is down; try again
    }
    if (Date.now() > deadline) throw new Error(`gateway did not accept ${kind} serial ${opts.serialNo} in ${giveUpMs} ms`);
    await sleep(50);
  }
}
