import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config-errors.js';
import { defaultNodeId, HUB_CONFIG_KEYS, HubConfigSchema, mergeHubOverrides, resolveHubConfig } from '../../hub/config.js';
import { ENV_ALIASES, envName } from '../../hub/config-env.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-hub-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = join(dir, `hub-${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The ConfigError `fn` throws (fails the test when it does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('hub config', () => {
  it('defaults: nested sections filled, listener hosts from host, a node id from the host name, frozen', () => {
    const c = resolveHubConfig({}, {});
    expect(c.dataDir).toBe('./data');
    expect(c.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.mqtt).toMatchObject({ host: '0.0.0.0', port: 1883, tlsPort: 8883, publishRate: 2000, tls: {} });
    expect(c.mqtt.maxPacketBytes).toBeUndefined();
    expect(c.db.url).toBeUndefined();
    expect(c.influx).toEqual({ batchSize: 5000, flushMs: 100, maxBacklog: 200_000, rawRetention: '30d', hourlyRetention: '104w' });
    expect(c.push).toEqual({ retention: '7d', maxRows: 2_000_000, replayLimit: 5000, flushMs: 5 });
    expect(c.auth).toEqual({ tokenTtl: '1h', refreshTtl: '30d', loginMaxFailures: 5, loginWindow: '15m' });
    expect(c.state).toEqual({ offlineAfterMs: 60_000, onlineAfterMs: 5_000, coalesceMs: 250, maxEstates: 10_000, maxDevicesPerEstate: 2_000 });
    expect(c.cluster.nodeId).toBe(defaultNodeId());
    expect(c.cluster.nodeId).toMatch(/^[a-z0-9-]{1,64}$/);
    expect(Object.isFrozen(c) && Object.isFrozen(c.mqtt) && Object.isFrozen(c.mqtt.tls)).toBe(true);
  });

  it('derives every env name from the key path; the old flat names are aliases', () => {
    expect(envName('mqtt.publishRate')).toBe('RB_MQTT_PUBLISH_RATE');
    expect(envName('db.url')).toBe('RB_DB_URL');
    expect(envName('mqtt.tls.cert')).toBe('RB_MQTT_TLS_CERT');
    expect(envName('state.maxDevicesPerEstate')).toBe('RB_STATE_MAX_DEVICES_PER_ESTATE');
    const names = new Set(HUB_CONFIG_KEYS.flatMap((k) => [k.env, ...k.aliases]));
    // Every variable the flat config read keeps working.
    for (const old of [
      'RB_DATA_DIR', 'RB_HOST', 'RB_HTTP_PORT', 'RB_MQTT_PORT', 'RB_INFLUX_URL', 'RB_INFLUX_BATCH_SIZE', 'RB_INFLUX_FLUSH_MS',
      'RB_INFLUX_RAW_RETENTION', 'RB_INFLUX_HOURLY_RETENTION', 'RB_MAX_PAYLOAD_BYTES', 'RB_MAX_RESULT_BYTES', 'RB_DEDUP_WINDOW',
      'RB_LOG_LEVEL', 'RB_MQTT_MAX_PACKET_BYTES', 'RB_MQTT_MAX_CONNECT_BYTES', 'RB_MQTT_CONNECT_TIMEOUT_MS', 'RB_MQTT_MAX_CONNECTIONS',
      'RB_MQTT_CONNECT_RATE_PER_IP', 'RB_MQTT_CONNECT_BURST_PER_IP', 'RB_MQTT_PUBLISH_RATE', 'RB_MQTT_PUBLISH_BURST',
      'RB_MQTT_MAX_RETAINED_BYTES', 'RB_MQTT_TLS_PORT', 'RB_TLS_CERT', 'RB_TLS_KEY', 'RB_API_TOKEN', 'RB_MAX_SNAPSHOT_BYTES',
      'RB_TOKEN_TTL', 'RB_REFRESH_TTL', 'RB_TIME_ZONE',
    ]) {
      expect(names.has(old), old).toBe(true);
    }
    expect(Object.keys(ENV_ALIASES).sort()).toEqual(['RB_API_TOKEN', 'RB_REFRESH_TTL', 'RB_TLS_CERT', 'RB_TLS_KEY', 'RB_TOKEN_TTL']);
    // One variable per key: no two keys share a name.
    expect(names.size).toBe(HUB_CONFIG_KEYS.length + Object.keys(ENV_ALIASES).length);
  });

  it('reads switches from the environment as booleans and refuses what is not one', () => {
    expect(resolveHubConfig({}, { RB_MQTT_PROXY_PROTOCOL: 'true' }).mqtt.proxyProtocol).toBe(true);
    expect(resolveHubConfig({}, { RB_MQTT_PROXY_PROTOCOL: 'ON' }).mqtt.proxyProtocol).toBe(true);
    expect(resolveHubConfig({}, { RB_MQTT_PROXY_PROTOCOL: '0' }).mqtt.proxyProtocol).toBe(false);
    expect(resolveHubConfig({}, {}).mqtt.proxyProtocol).toBe(false);
    expect(() => resolveHubConfig({}, { RB_MQTT_PROXY_PROTOCOL: 'sure' })).toThrow(/mqtt\.proxyProtocol/);
  });

  it('reads the environment by derived name (numbers as numbers) and by alias; the derived name wins', () => {
    const c = resolveHubConfig(
      {},
      {
        RB_MQTT_PUBLISH_RATE: '500',
        RB_HTTP_PORT: '9090',
        RB_DB_URL: 'postgres://rb:pw@127.0.0.1:5432/rb',
        RB_STATE_OFFLINE_AFTER_MS: '1500',
        RB_TLS_CERT: '/etc/rb/cert.pem',
        RB_TLS_KEY: '/etc/rb/key.pem',
        RB_API_TOKEN: 'old-name-token-0123456789',
        RB_AUTH_API_TOKEN: 'new-name-token-0123456789',
        RB_TOKEN_TTL: '2h',
        RB_HOST: '127.0.0.1',
        RB_MQTT_HOST: '0.0.0.0',
        RB_PUSH_RETENTION: '3d',
        RB_INFLUX_URL: '',
      },
    );
    expect(c.mqtt.publishRate).toBe(500);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(c.mqtt.host).toBe('0.0.0.0');
    expect(c.db.url).toBe('postgres://rb:pw@127.0.0.1:5432/rb');
    expect(c.state.offlineAfterMs).toBe(1500);
    expect(c.mqtt.tls).toEqual({ cert: '/etc/rb/cert.pem', key: '/etc/rb/key.pem' });
    expect(c.auth.apiToken).toBe('new-name-token-0123456789');
    expect(c.auth.tokenTtl).toBe('2h');
    expect(c.push.retention).toBe('3d');
    expect(c.influx.url).toBeUndefined(); // empty = unset
  });

  it('precedence: defaults < file < env < flags, key by key', () => {
    const file = yamlFile(
      [
        'dataDir: ./state',
        'http:',
        '  port: 1111',
        'mqtt:',
        '  port: 2222',
        '  publishRate: 300',
        '  tls:',
        '    cert: tls/c.pem',
        '    key: /abs/k.pem',
        'auth:',
        '  tokenTtl: 4h',
        'push:',
        '  replayLimit: 77',
        '',
      ].join('\n'),
    );
    const c = resolveHubConfig({ http: { port: 4444 }, mqtt: { port: undefined } }, { RB_HTTP_PORT: '3333', RB_MQTT_PORT: '3334', RB_MQTT_PUBLISH_RATE: '350' }, { file });
    expect(c.http.port).toBe(4444); // flag over env over file
    expect(c.mqtt.port).toBe(3334); // env over file (an undefined flag does not count)
    expect(c.mqtt.publishRate).toBe(350);
    expect(c.mqtt.publishBurst).toBe(10_000); // default: no source sets it
    expect(c.auth.tokenTtl).toBe('4h'); // file only
    expect(c.push.replayLimit).toBe(77);
    // paths in the file are relative to the file
    expect(c.dataDir).toBe(join(dir, 'state'));
    expect(c.mqtt.tls).toEqual({ cert: join(dir, 'tls/c.pem'), key: '/abs/k.pem' });
    // a path from a flag or the environment is taken as given
    expect(resolveHubConfig({ dataDir: 'rel' }, {}, { file }).dataDir).toBe('rel');
  });

  it('names the key path and its environment variable(s) of every bad value at once', () => {
    const file = yamlFile('mqtt:\n  publishRate: fast\nauth:\n  tokenTtl: forever\n');
    const err = configError(() => resolveHubConfig({ http: { port: 70_000 } }, { RB_STATE_ONLINE_AFTER_MS: 'soon', RB_DB_URL: 'mysql://x' }, { file }));
    expect(err.code).toBe('RB_ERR_CONFIG');
    expect(err.source).toBe(file);
    const byPath = Object.fromEntries(err.problems.map((p) => [p.path, p.message]));
    expect(Object.keys(byPath).sort()).toEqual(['auth.tokenTtl', 'db.url', 'http.port', 'mqtt.publishRate', 'state.onlineAfterMs']);
    expect(byPath['http.port']).toMatch(/\(env RB_HTTP_PORT\)$/);
    expect(byPath['mqtt.publishRate']).toMatch(/number.*\(env RB_MQTT_PUBLISH_RATE\)$/);
    expect(byPath['auth.tokenTtl']).toMatch(/duration.*\(env RB_AUTH_TOKEN_TTL or RB_TOKEN_TTL\)$/);
    expect(byPath['state.onlineAfterMs']).toMatch(/\(env RB_STATE_ONLINE_AFTER_MS\)$/);
    expect(byPath['db.url']).toMatch(/postgres:\/\//);
    expect(err.message).toContain('- mqtt.publishRate:');
  });

  it('refuses unknown keys, in the file and in overrides, each by its own path', () => {
    const file = yamlFile('mqtt:\n  publishRat: 5\nhttpPort: 8080\nhttp:\n  port: 8080\n  tls: {}\n');
    const err = configError(() => resolveHubConfig({}, {}, { file }));
    expect(err.problems).toEqual(
      expect.arrayContaining([
        { path: 'mqtt.publishRat', message: 'unknown key' },
        { path: 'httpPort', message: 'unknown key' },
        { path: 'http.tls', message: 'unknown key' },
      ]),
    );
    expect(err.problems).toHaveLength(3);
    // the flat keys of the old config are refused too, so a stale caller cannot be silently ignored
    expect(configError(() => resolveHubConfig({ mqttPort: 1 } as never, {})).problems).toEqual([{ path: 'mqttPort', message: 'unknown key' }]);
  });

  it('refuses a YAML null for a number rather than reading it as 0', () => {
    const err = configError(() => resolveHubConfig({}, {}, { file: yamlFile('http:\n  port:\n') }));
    expect(err.problems.map((p) => p.path)).toEqual(['http.port']);
  });

  it('refuses an unreadable file, bad YAML and a file that is not a mapping', () => {
    expect(configError(() => resolveHubConfig({}, {}, { file: join(dir, 'missing.yaml') })).problems[0]!.message).toMatch(/cannot read file/);
    expect(configError(() => resolveHubConfig({}, {}, { file: yamlFile('http: [\n') })).problems[0]!.message).toMatch(/^YAML:/);
    expect(configError(() => resolveHubConfig({}, {}, { file: yamlFile('- a\n- b\n') })).problems[0]!.message).toMatch(/mapping/);
  });

  it('refuses one of mqtt.tls.cert and mqtt.tls.key without the other', () => {
    const err = configError(() => resolveHubConfig({}, { RB_TLS_KEY: '/k.pem' }));
    expect(err.problems).toEqual([{ path: 'mqtt.tls.cert', message: 'mqtt.tls.cert and mqtt.tls.key are set together (env RB_MQTT_TLS_CERT or RB_TLS_CERT)' }]);
  });

  it('mergeHubOverrides merges nested layers, later ones winning, undefined ignored', () => {
    expect(mergeHubOverrides({ http: { port: 1 }, mqtt: { port: 2, publishRate: 3 } }, { mqtt: { port: 5, publishRate: undefined } })).toEqual({
      http: { port: 1 },
      mqtt: { port: 5, publishRate: 3 },
    });
  });

  it('every key is described', () => {
    const undescribed = HUB_CONFIG_KEYS.filter((k) => {
      let s: unknown = HubConfigSchema;
      for (const part of k.path.split('.')) {
        // walk through optional/default/prefault wrappers to the object that holds `part`
        for (;;) {
          const def = (s as { def: { type: string; innerType?: unknown } }).def;
          if (def.type === 'object') break;
          s = def.innerType;
        }
        s = (s as { shape: Record<string, unknown> }).shape[part];
      }
      return !(s as { description?: string }).description;
    });
    expect(undescribed.map((k) => k.path)).toEqual([]);
  });

  it('docs/hub.example.yaml parses, and is the defaults where it sets a value', () => {
    const file = new URL('../../docs/hub.example.yaml', import.meta.url).pathname;
    const c = resolveHubConfig({}, {}, { file });
    const defaults = resolveHubConfig({}, {});
    expect(c.dataDir).toBe(new URL('../../docs/data', import.meta.url).pathname);
    expect({ ...c, dataDir: defaults.dataDir }).toEqual(defaults);
  });

  it('defaultNodeId makes a valid id of any host name', () => {
    expect(defaultNodeId('Hub-01.Example.COM')).toBe('hub-01-example-com');
    expect(defaultNodeId('___')).toBe('hub');
    expect(defaultNodeId('x'.repeat(100))).toHaveLength(64);
  });
});
