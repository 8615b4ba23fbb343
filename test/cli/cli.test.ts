import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '../support/ports.js';
import { runCli, startCli, stopProcess } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('red-butler CLI', () => {
  it.each([[[]], [['hub']], [['hub', 'gateway', 'add']], [['gateway']], [['simulate']], [['simulate', 'camera']], [['demo']], [['discover']]])(
    '%j --help explains the command',
    async (args) => {
      const r = await runCli([...args, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: red-butler/);
    },
  );

  it('an unknown command says so, suggests the nearest one and exits 2 (a usage error)', async () => {
    const r = await runCli(['foo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'foo'");
    expect(r.stdout).toBe('');
    const typo = await runCli(['discovr']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('(Did you mean discover?)');
    const option = await runCli(['hub', '--no-such-flag']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--no-such-flag'");
  });

  it('hub and demo take --http-port, --mqtt-port and --data-dir', async () => {
    for (const cmd of ['hub', 'demo']) {
      const r = await runCli([cmd, '--help']);
      for (const flag of ['--http-port', '--mqtt-port', '--data-dir']) expect(r.stdout).toContain(flag);
    }
  });

  it('hub gateway add provisions a gateway and prints its credentials as JSON', async () => {
    const r = await runCli(['hub', 'gateway', 'add', '--data-dir', dir, '--estate', 'maple-court', '--gateway', 'gw-1']);
    expect(r.code).toBe(0);
    const creds = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(creds).sort()).toEqual(['estate', 'gateway', 'password', 'username']);
    expect(creds).toMatchObject({ estate: 'maple-court', gateway: 'gw-1', username: 'maple-court.gw-1' });
    expect(creds.password!.length).toBeGreaterThanOrEqual(24);
    const list = await runCli(['hub', 'gateway', 'list', '--data-dir', dir]);
    expect(list.stdout).toContain('maple-court');
    expect(list.stdout).not.toContain(creds.password); // only the hash is kept
  });

  it('hub gateway add refuses an id that could break a topic', async () => {
    const r = await runCli(['hub', 'gateway', 'add', '--data-dir', dir, '--estate', 'a/b', '--gateway', 'gw-1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/estate id "a\/b" must match/);
  });

  it('gateway --check-config prints every error with its key path and exits non-zero', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'estate: Maple Court',
        'hub:',
        '  url: http://hub',
        '  username: x',
        'heartbeatS: "often"',
        'devices:',
        '  - id: gate-1',
        '    driver: no-such-driver',
        '  - id: gate-1',
        '    driver: hikvision-isapi',
        '    options: { allowFrom: [not-an-ip] }',
      ].join('\n'),
    );
    const r = await runCli(['gateway', '--check-config', file]);
    expect(r.code).not.toBe(0);
    for (const path of ['estate', 'gateway', 'hub.url', 'hub.password', 'privacy', 'heartbeatS', 'devices[0].driver', 'devices[1].id', 'devices[1].options.allowFrom[0]']) {
      expect(r.stderr, path).toContain(`- ${path}:`);
    }
    expect(r.stderr).toContain('unknown driver "no-such-driver"');
  });

  it('hub names the key path and env variable of a bad setting', async () => {
    const r = await runCli(['hub', '--data-dir', dir, '--http-port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/http\.port: .*RB_HTTP_PORT/);
  });

  it('hub --help lists --config, --check-config and --db-url', async () => {
    const r = await runCli(['hub', '--help']);
    for (const flag of ['--config <file>', '--check-config <file>', '--db-url <url>']) expect(r.stdout).toContain(flag);
  });

  it('hub --check-config prints every error with its key path and env variable, and OK for a good file', async () => {
    const bad = join(dir, 'hub-bad.yaml');
    writeFileSync(bad, 'http:\n  port: -1\nmqtt:\n  publishRat: 5\n');
    const r = await runCli(['hub', '--check-config', bad], { env: { RB_AUTH_TOKEN_TTL: 'forever' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('3 configuration error(s)');
    expect(r.stderr).toMatch(/- http\.port: .*\(env RB_HTTP_PORT\)/);
    expect(r.stderr).toContain('- mqtt.publishRat: unknown key');
    expect(r.stderr).toMatch(/- auth\.tokenTtl: .*\(env RB_AUTH_TOKEN_TTL or RB_TOKEN_TTL\)/);
    const example = new URL('../../docs/hub.example.yaml', import.meta.url).pathname;
    const ok = await runCli(['hub', '--check-config', example]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/hub\.example\.yaml: OK/);
  });

  it('hub --config: listens on the ports from the file, with env over file and flags over env', async () => {
    const [httpPort, mqttPort, envMqttPort, flagHttpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const file = join(dir, 'hub.yaml');
    const token = 'file-api-token-0123456789';
    writeFileSync(file, ['dataDir: hub-from-file', 'host: 127.0.0.1', 'http:', `  port: ${httpPort}`, 'mqtt:', `  port: ${mqttPort}`, 'auth:', `  apiToken: ${token}`, ''].join('\n'));
    // Clear whatever RB_* the test runner has, so only the file speaks.
    const clean = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('RB_')).map((k) => [k, undefined]));
    const first = startCli(['hub', '--config', file, '--log-level', 'info'], clean);
    try {
      await waitForPort(httpPort, 20_000, () => first.exitCode === null);
      await waitForPort(mqttPort, 20_000, () => first.exitCode === null);
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/gateways`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, first.output()).toBe(200);
      expect((await fetch(`http://127.0.0.1:${httpPort}/api/v1/gateways`)).status).toBe(401);
      expect(existsSync(join(dir, 'hub-from-file', 'hub.db')), first.output()).toBe(true); // dataDir relative to the file
    } finally {
      expect(await stopProcess(first)).toBe(0);
    }
    // RB_MQTT_PORT over the file's mqtt.port, --http-port over both
    const second = startCli(['hub', '--config', file, '--http-port', String(flagHttpPort)], { ...clean, RB_MQTT_PORT: String(envMqttPort), RB_HTTP_PORT: String(httpPort) });
    try {
      await waitForPort(flagHttpPort, 20_000, () => second.exitCode === null);
      await waitForPort(envMqttPort, 20_000, () => second.exitCode === null);
      expect((await fetch(`http://127.0.0.1:${flagHttpPort}/healthz`)).status, second.output()).toBe(200);
    } finally {
      expect(await stopProcess(second)).toBe(0);
    }
  }, 60_000);

  it('demo serves events at /api/v1/events within 30 s of start', async () => {
    const DEMO_TOKEN = 'demo-test-token-0123456789';
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    const demo = startCli(['demo', '--data-dir', join(dir, 'demo'), '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--push-port', String(pushPort), '--rate', '10'], { RB_API_TOKEN: DEMO_TOKEN });
    try {
      const started = Date.now();
      let items: unknown[] = [];
      while (Date.now() - started < 30_000 && items.length === 0) {
        await new Promise((r) => setTimeout(r, 500));
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/events?estate=demo-estate`, { headers: { authorization: `Bearer ${DEMO_TOKEN}` } }).catch(() => undefined);
        if (res?.ok) items = ((await res.json()) as { items: unknown[] }).items;
      }
      expect(items.length, demo.output()).toBeGreaterThan(0);
      // The gateways may deliver events before the banner is printed (cli/demo.ts): wait for it.
      const banner = Date.now();
      while (!demo.output().includes(`http://127.0.0.1:${httpPort}/`) && Date.now() - banner < 10_000) await new Promise((r) => setTimeout(r, 100));
      expect(demo.output()).toContain(`http://127.0.0.1:${httpPort}/`);
      expect(demo.output()).toMatch(/"username":"demo-estate\.gw-1","password":"[^"]+"/);
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(await page.text()).toContain('红管家');
    } finally {
      expect(await stopProcess(demo)).toBe(0);
    }
  }, 45_000);
});
