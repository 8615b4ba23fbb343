import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
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

  it('hub names the flag and env variable of a bad setting', async () => {
    const r = await runCli(['hub', '--data-dir', dir, '--http-port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/httpPort: .*RB_HTTP_PORT/);
  });

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
      expect(demo.output()).toContain(`http://127.0.0.1:${httpPort}/`);
      expect(demo.output()).toMatch(/"username":"demo-estate\.gw-1","password":"[^"]+"/);
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(await page.text()).toContain('红管家');
    } finally {
      expect(await stopProcess(demo)).toBe(0);
    }
  }, 45_000);
});
