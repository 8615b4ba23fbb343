import { readFileSync } from 'node:fs';
import { ConfigError } from '../../lib/config-errors.js';
import type { HubConfig } from '../config.js';

/** What the broker enforces in front of and around aedes (see hub/config.ts for each key). */
export interface BrokerLimits {
  maxPacketBytes: number;
  maxConnectBytes: number;
  connectTimeoutMs: number;
  maxConnections: number;
  connectRatePerIp: number;
  connectBurstPerIp: number;
  publishRate: number;
  publishBurst: number;
  /** Largest retained message kept: a gateway's status (see retained.ts). */
  maxRetainedBytes: number;
  /** MQTT over TLS listener; absent = plain TCP only. */
  tls?: { port: number; cert: Buffer; key: Buffer };
}

/** The broker's limits from the hub config; reads the TLS files now so a bad path fails at start. */
export function brokerLimits(config: HubConfig): BrokerLimits {
  let tls: BrokerLimits['tls'];
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('hub config', [{ path: config.tlsCert ? 'tlsKey' : 'tlsCert', message: 'tlsCert and tlsKey are set together (env RB_TLS_CERT, RB_TLS_KEY)' }]);
  }
  if (config.tlsCert && config.tlsKey) {
    const read = (path: string, key: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new ConfigError('hub config', [{ path: key, message: `cannot read ${path}: ${(err as Error).message}` }]);
      }
    };
    tls = { port: config.mqttTlsPort, cert: read(config.tlsCert, 'tlsCert'), key: read(config.tlsKey, 'tlsKey') };
  }
  return {
    // a command result (which may carry a base64 snapshot) must fit, plus topic and header
    maxPacketBytes: config.mqttMaxPacketBytes ?? Math.max(config.maxPayloadBytes, config.maxResultBytes) + 64 * 1024,
    maxConnectBytes: config.mqttMaxConnectBytes,
    connectTimeoutMs: config.mqttConnectTimeoutMs,
    maxConnections: config.mqttMaxConnections,
    connectRatePerIp: config.mqttConnectRatePerIp,
    connectBurstPerIp: config.mqttConnectBurstPerIp,
    publishRate: config.mqttPublishRate,
    publishBurst: config.mqttPublishBurst,
    maxRetainedBytes: config.mqttMaxRetainedBytes,
    ...(tls ? { tls } : {}),
  };
}

/** Defaults for a broker built without a hub config (same values as hub/config.ts). */
export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  maxPacketBytes: 8 * 1024 * 1024 + 64 * 1024,
  maxConnectBytes: 8 * 1024,
  connectTimeoutMs: 10_000,
  maxConnections: 10_000,
  connectRatePerIp: 20,
  connectBurstPerIp: 200,
  publishRate: 2_000,
  publishBurst: 10_000,
  maxRetainedBytes: 64 * 1024,
};
