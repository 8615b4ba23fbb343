import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../hub/registry.js';
import { connectGateway, waitFor } from '../support/hub.js';
import { freePort } from '../support/ports.js';
import { runCli, startCli, stopProcess } from '../support/cli.js';

/** `red-butler hub gateway|estate|street ...` against a registry file, and a revoke reaching a running hub process. */

const dir = mkdtempSync(join(tmpdir(), 'rb-cli-admin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await runCli(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('red-butler hub gateway|estate|street', () => {
  it('street add, estate add (street must exist), gateway add/rotate/revoke/list', async () => {
    const d = join(dir, 'offline');
    const gw = ['--data-dir', d, '--estate', 'maple', '--gateway', 'gw-1'];
    expect(await json(['hub', 'street', 'add', '--data-dir', d, '--street', 'east', '--name', 'East Street'])).toEqual({ id: 'east', name: 'East Street' });
    const missing = await runCli(['hub', 'estate', 'add', '--data-dir', d, '--estate', 'maple', '--street', 'west']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/RB_ERR_UNKNOWN_STREET: no street west/);
    expect(await json(['hub', 'estate', 'add', '--data-dir', d, '--estate', 'maple', '--street', 'east', '--name', 'Maple Court'])).toEqual({
      id: 'maple',
      street: 'east',
      grid: null,
      name: 'Maple Court',
    });

    const added = await json(['hub', 'gateway', 'add', ...gw]);
    const rotated = await json(['hub', 'gateway', 'rotate', ...gw]);
    expect(Object.keys(rotated).sort()).toEqual(['estate', 'gateway', 'password', 'username']);
    expect(rotated.password).not.toBe(added.password);
    const revoked = await json(['hub', 'gateway', 'revoke', ...gw]);
    expect(Object.keys(revoked).sort()).toEqual(['estate', 'gateway', 'revokedAt']);
    const again = await runCli(['hub', 'gateway', 'rotate', ...gw]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/RB_ERR_GATEWAY_REVOKED/);
    const unknown = await runCli(['hub', 'gateway', 'revoke', '--data-dir', d, '--estate', 'maple', '--gateway', 'nope']);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/RB_ERR_UNKNOWN_GATEWAY/) });
    const list = JSON.parse((await runCli(['hub', 'gateway', 'list', '--data-dir', d])).stdout) as Array<Record<string, unknown>>;
    expect(list).toEqual([expect.objectContaining({ estate: 'maple', gateway: 'gw-1', revokedAt: revoked.revokedAt })]);
  }, 60_000);

  it('a revoke from the CLI closes the gateway on a running hub process within seconds; its reconnect is refused', async () => {
    const d = join(dir, 'live');
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const creds = (await json(['hub', 'gateway', 'add', '--data-dir', d, '--estate', 'maple', '--gateway', 'gw-1'])) as unknown as GatewayCredentials;
    const hub = startCli(['hub', '--data-dir', d, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1'], { RB_LOG_LEVEL: 'info' });
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    let client: mqtt.MqttClient | undefined;
    try {
      expect(await waitFor(() => /MQTT broker listening/.test(hub.output()), 20_000, 100)).toBe(true);
      // The gateway as it runs: reconnecting on its own.
      client = await connectGateway(url, creds, { reconnectPeriod: 300 });
      const refusals: number[] = [];
      let closedAt = 0;
      client.on('close', () => (closedAt ||= Date.now()));
      client.on('error', (err) => refusals.push((err as { code?: number }).code ?? -1));

      const t0 = Date.now();
      await json(['hub', 'gateway', 'revoke', '--data-dir', d, '--estate', 'maple', '--gateway', 'gw-1']);
      expect(await waitFor(() => closedAt > 0, 5_000, 20)).toBe(true);
      console.log(`CLI revoke -> running hub closed the gateway after ${closedAt - t0} ms (including CLI start-up)`);
      // mqtt.js reconnects once and stops after a CONNACK refusal of the credentials.
      expect(await waitFor(() => refusals.length >= 1, 5_000, 50)).toBe(true);
      expect(refusals).toEqual([4]);
      expect(client.connected).toBe(false);
      expect(hub.output()).toMatch(/gateway credentials changed; closing its connection/);
    } finally {
      await client?.endAsync(true);
      await stopProcess(hub);
    }
  }, 60_000);
});
