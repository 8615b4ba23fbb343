import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMPOSE_FRONT, haproxyConfig } from '../../../lib/cluster/haproxy-config.js';

/**
 * docker-compose.cluster.yml (issue 18 item 7) validated by Debian's docker-compose 1.29 (installed
 * by scripts/ensure-deps.sh) in a temp dir with .env.example as .env, and its HAProxy config by the
 * real `haproxy -c` (Debian 2.6). The config file is the generator's text for the compose addresses,
 * the same generator `red-butler demo --cluster` runs for real, so the two cannot drift apart.
 */
const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rb-compose-cluster-'));
copyFileSync(join(repo, 'docker-compose.cluster.yml'), join(dir, 'docker-compose.cluster.yml'));
copyFileSync(join(repo, '.env.example'), join(dir, '.env'));
mkdirSync(join(dir, 'deploy'));
symlinkSync(join(repo, 'deploy', 'haproxy'), join(dir, 'deploy', 'haproxy'));
symlinkSync(join(repo, 'dashboards'), join(dir, 'dashboards'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: Array<{ published: number; target: number }>;
  networks?: Record<string, { ipv4_address?: string } | null>;
}

describe('docker-compose.cluster.yml', () => {
  it('is valid (docker-compose -f docker-compose.cluster.yml config -q exits 0)', async () => {
    const { stderr } = await run('docker-compose', ['-f', 'docker-compose.cluster.yml', 'config', '-q'], { cwd: dir });
    expect(stderr).toBe('');
  });

  it('runs two hubs on one PostgreSQL and one Redis behind HAProxy, with InfluxDB and Grafana', async () => {
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.cluster.yml', 'config'], { cwd: dir });
    const config = parse(stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    const s = config.services;
    expect(Object.keys(s).sort()).toEqual(['grafana', 'haproxy', 'hub-a', 'hub-b', 'influxdb', 'postgres', 'redis']);
    expect(s.postgres!.image).toBe('postgres:15');
    expect(s.redis!.image).toBe('redis:7');
    expect(s.haproxy!.image).toBe('haproxy:2.6');
    expect(s.influxdb!.image).toBe('influxdb:1.8');
    const proxyIp = s.haproxy!.networks!.cluster!.ipv4_address;
    for (const node of ['hub-a', 'hub-b']) {
      const hub = s[node]!;
      expect(hub.build, node).toBeDefined();
      expect(hub.command, node).toEqual(['hub', '--db-url', 'postgres://redbutler:CHANGE-ME@postgres:5432/redbutler', '--redis-url', 'redis://redis:6379', '--node-id', node]);
      expect(hub.environment, node).toMatchObject({ RB_MQTT_PROXY_PROTOCOL: 'true', RB_HTTP_TRUST_PROXY: proxyIp, RB_INFLUX_URL: 'http://influxdb:8086/redbutler' });
      expect(hub.healthcheck!.test.join(' '), node).toContain('/readyz');
      // Only HAProxy is published: a gateway that reached a hub directly would send no PROXY header.
      expect(hub.ports, node).toBeUndefined();
      expect(hub.volumes, node).toEqual([`${node}-data:/data:rw`]);
    }
    expect(s['hub-a']!.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(s['hub-b']!.depends_on).toEqual({ 'hub-a': { condition: 'service_healthy' } });
    expect(s.haproxy!.ports!.map((p) => p.target).sort()).toEqual([1883, 8080]);
    expect(s.haproxy!.volumes).toEqual([`${join(dir, 'deploy/haproxy/haproxy.cfg')}:/usr/local/etc/haproxy/haproxy.cfg:ro`]);
    // Grafana provisioned as in docker-compose.yml.
    expect(s.grafana!.volumes).toContain(`${join(dir, 'dashboards/provisioning/datasources')}:/etc/grafana/provisioning/datasources:ro`);
    expect(s.grafana!.environment!.RB_GRAFANA_INFLUX_URL).toBe('http://influxdb:8086');
    expect(Object.keys(config.volumes).sort()).toEqual(['grafana-data', 'hub-a-data', 'hub-b-data', 'influxdb-data', 'postgres-data', 'redis-data']);
  });

  it('has an HAProxy config that haproxy -c accepts, made by the generator for the compose hubs', async () => {
    const cfg = join(repo, 'deploy', 'haproxy', 'haproxy.cfg');
    expect(readFileSync(cfg, 'utf8')).toBe(haproxyConfig(COMPOSE_FRONT));
    const { stdout, stderr } = await run('haproxy', ['-c', '-f', cfg]);
    expect(stdout).toContain('Configuration file is valid');
    // Outside the compose network the hub names do not resolve: that warning only (init-addr none).
    const warnings = stderr.split('\n').filter((l) => l.includes('[WARNING]'));
    expect(warnings.filter((w) => !/could not resolve address 'hub-[ab]'/.test(w))).toEqual([]);
    const text = readFileSync(cfg, 'utf8');
    for (const hub of ['hub-a', 'hub-b']) {
      expect(text).toContain(`server ${hub} ${hub}:1883 check port 8080 inter 2s fall 2 rise 2 send-proxy-v2`);
      expect(text).toContain(`server ${hub} ${hub}:8080 cookie ${hub} check`);
      // A live-video viewer's `?node=` goes to that hub (docs/video.md, "Cluster").
      expect(text).toContain(`use-server ${hub} if { path /api/v1/video/live } { urlp(node) -m str ${hub} }`);
    }
    expect(text).toMatch(/backend hubs_mqtt\n {2}mode tcp\n {2}balance leastconn\n {2}option httpchk GET \/readyz/);
    expect(text).toMatch(/backend hubs_http\n {2}mode http\n {2}balance roundrobin\n {2}cookie RB_NODE insert indirect nocache/);
  });

  it('reads no variable .env.example lacks', () => {
    const compose = readFileSync(join(repo, 'docker-compose.cluster.yml'), 'utf8');
    const example = readFileSync(join(repo, '.env.example'), 'utf8');
    const used = new Set([...compose.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const listed = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !listed.has(v))).toEqual([]);
    expect(example).toMatch(/^RB_DB_PASSWORD=CHANGE-ME$/m);
  });
});
