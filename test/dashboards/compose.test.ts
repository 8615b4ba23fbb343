import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateFiles } from '../../dashboards/src/index.js';
import { HUB_URL_PLACEHOLDER } from '../../dashboards/src/variables.js';

/**
 * docker-compose.yml validated by Debian's docker-compose (1.29, installed by scripts/ensure-deps.sh),
 * in a temp dir with .env.example copied as .env: the same file a street office starts from.
 */
const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rb-compose-'));
copyFileSync(join(repo, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
copyFileSync(join(repo, '.env.example'), join(dir, '.env'));
symlinkSync(join(repo, 'dashboards'), join(dir, 'dashboards'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  healthcheck?: { test: string[] };
  /** docker-compose 1.29 prints the short form `source:target:mode`. */
  volumes?: string[];
  environment?: Record<string, string>;
}

describe('docker-compose.yml', () => {
  it('is valid (docker-compose config -q exits 0)', async () => {
    const { stderr } = await run('docker-compose', ['config', '-q'], { cwd: dir });
    expect(stderr).toBe('');
  });

  it('has the services, healthchecks and named volumes of a street office', async () => {
    const { stdout } = await run('docker-compose', ['config'], { cwd: dir });
    const config = parse(stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    expect(Object.keys(config.services).sort()).toEqual(['devices', 'gateway', 'grafana', 'hub', 'influxdb']);
    expect(Object.keys(config.volumes).sort()).toEqual(['gateway-data', 'grafana-data', 'hub-data', 'influxdb-data']);
    for (const name of ['influxdb', 'grafana', 'hub', 'gateway']) expect(config.services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
    expect(config.services.influxdb!.image).toBe('influxdb:1.8');
    expect(config.services.hub!.healthcheck!.test.join(' ')).toContain('/healthz');
    expect(config.services.hub!.build).toBeDefined();
    expect(config.services.hub!.environment!.RB_INFLUX_URL).toBe('http://influxdb:8086/redbutler');
    const mounts = (s: string): Record<string, { source: string; mode: string }> =>
      Object.fromEntries(
        (config.services[s]!.volumes ?? []).map((v) => {
          const [source, target, mode] = v.split(':');
          return [target!, { source: source!, mode: mode ?? 'rw' }];
        }),
      );
    expect(mounts('hub')['/data']).toEqual({ source: 'hub-data', mode: 'rw' });
    expect(mounts('influxdb')['/var/lib/influxdb']).toEqual({ source: 'influxdb-data', mode: 'rw' });
    expect(mounts('gateway')['/data']).toEqual({ source: 'gateway-data', mode: 'rw' });
    const grafana = mounts('grafana');
    expect(grafana['/var/lib/grafana']).toEqual({ source: 'grafana-data', mode: 'rw' });
    for (const [target, source] of [
      ['/etc/grafana/provisioning/datasources', 'dashboards/provisioning/datasources'],
      ['/etc/grafana/provisioning/dashboards', 'dashboards/provisioning/dashboards'],
      ['/etc/red-butler/dashboards', 'dashboards/json'],
      ['/etc/red-butler/grafana-start.sh', 'dashboards/grafana-start.sh'],
    ] as const) {
      expect(grafana[target], target).toEqual({ source: join(dir, source), mode: 'ro' });
    }
    // The entrypoint copies the dashboards to where the provider reads them, with the hub's address.
    const gf = config.services.grafana! as Service & { entrypoint?: string[] };
    expect(gf.entrypoint).toEqual(['/bin/sh', '/etc/red-butler/grafana-start.sh']);
    expect(gf.environment!.RB_HUB_URL).toBe('http://localhost:8080');
    expect(config.services.devices!.command!.slice(0, 3)).toEqual(['simulate', '--gateway-url', 'http://gateway:8091']);
  });

  it('grafana-start.sh puts RB_HUB_URL into a copy of every dashboard and refuses a URL that is not one', async () => {
    const out = join(dir, 'grafana-dashboards');
    const env = { ...process.env, RB_DASHBOARDS_SRC: join(repo, 'dashboards', 'json'), RB_DASHBOARDS_DST: out, RB_GRAFANA_RUN: 'true' };
    await run('sh', [join(repo, 'dashboards', 'grafana-start.sh')], { env: { ...env, RB_HUB_URL: 'http://192.168.1.10:8080/' } });
    for (const [path, content] of generateFiles()) {
      if (!path.startsWith('json/')) continue;
      const copy = readFileSync(join(out, path.slice('json/'.length)), 'utf8');
      expect(copy, path).toBe(content.replaceAll(HUB_URL_PLACEHOLDER, 'http://192.168.1.10:8080'));
      expect(copy, path).toContain('"http://192.168.1.10:8080"');
    }
    for (const bad of ['http://x/a&b', 'ftp://x', 'http://x/"', 'http://x y']) {
      await expect(run('sh', [join(repo, 'dashboards', 'grafana-start.sh')], { env: { ...env, RB_HUB_URL: bad } }), bad).rejects.toThrow(/RB_HUB_URL must be/);
    }
  });

  it('commits no secrets: every variable the compose file reads is in .env.example', () => {
    const compose = readFileSync(join(repo, 'docker-compose.yml'), 'utf8');
    const example = readFileSync(join(repo, '.env.example'), 'utf8');
    const used = new Set([...compose.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const listed = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !listed.has(v))).toEqual([]);
    for (const secret of ['RB_API_TOKEN', 'GRAFANA_ADMIN_PASSWORD', 'RB_DEMO_GATEWAY_PASSWORD']) expect(example).toMatch(new RegExp(`^${secret}=CHANGE-ME$`, 'm'));
  });
});
