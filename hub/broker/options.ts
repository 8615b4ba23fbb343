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
  /** The plain listener expects a PROXY protocol v2 header first (mqtt.proxyProtocol). */
  proxyProtocol?: boolean;
  /** MQTT over TLS listener; absent = plain TCP only. */
  tls?: { port: number; cert: Buffer; key: Buffer };
}

/** The broker's limits from the hub config; reads the TLS files now so a bad path fails at start. */
export function brokerLimits(config: Pick<HubConfig, 'mqtt' | 'maxPayloadBytes' | 'maxResultBytes'>): BrokerLimits {
  const { mqtt } = config;
  let tls: BrokerLimits['tls'];
  if ((mqtt.tls.cert === undefined) !== (mqtt.tls.key === undefined)) {
    throw new ConfigError('hub config', [{ path: mqtt.tls.cert ? 'mqtt.tls.key' : 'mqtt.tls.cert', message: 'mqtt.tls.cert and mqtt.tls.key are set together (env RB_MQTT_TLS_CERT, RB_MQTT_TLS_KEY)' }]);
  }
  if (mqtt.tls.cert && mqtt.tls.key) {
    const read = (path: string, key: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new ConfigError('hub config', [{ path: key, message: `cannot read ${path}: ${(err as Error).message}` }]);
      }
    };
    tls = { port: mqtt.tlsPort, cert: read(mqtt.tls.cert, 'mqtt.tls.cert'), key: read(mqtt.tls.key, 'mqtt.tls.key') };
  }
  return {
    // a command result (which may carry a base64 snapshot) must fit, plus topic and header
    maxPacketBytes: mqtt.maxPacketBytes ?? Math.max(config.maxPayloadBytes, config.maxResultBytes) + 64 * 1024,
    maxConnectBytes: mqtt.maxConnectBytes,
    connectTimeoutMs: mqtt.connectTimeoutMs,
    maxConnections: mqtt.maxConnections,
    connectRatePerIp: mqtt.connectRatePerIp,
    connectBurstPerIp: mqtt.connectBurstPerIp,
    publishRate: mqtt.publishRate,
    publishBurst: mqtt.publishBurst,
    maxRetainedBytes: mqtt.maxRetainedBytes,
    proxyProtocol: mqtt.proxyProtocol,
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
