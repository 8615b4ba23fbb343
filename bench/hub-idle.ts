/**
 * The hub benchmark's idle part (bench/hub.ts): the hub's RSS with 10,000 idle authenticated
 * gateway connections.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase } from '../hub/platform/db/index.js';
import { clientIdFor, topics } from '../protocol/index.js';
import type { Influxd } from '../test/support/influxd.js';
import { CONNECTIONS, CURRENT, log, startHub } from './hub-common.js';
import { procRss, sleep, stopChild } from './lib.js';


function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
const packet = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type]), varint(body.length), body]);

/**
 * One idle gateway over a raw socket (an mqtt.js client costs ~100 KiB in the bench process; 10k of
 * them would measure the bench, not the hub): MQTT 3.1.1 CONNECT with credentials and its client id,
 * then SUBSCRIBE to its command topic as the real gateway uplink does; resolves at SUBACK.
 */
function idleGateway(port: number, estate: string, gateway: string, password: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let state: 'connack' | 'suback' = 'connack';
    s.once('error', reject);
    s.once('close', () => reject(new Error(`${gateway}: connection closed (${state})`)));
    s.on('connect', () => {
      const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 120])]); // v3.1.1, user+pass+clean, keepalive 120 s
      s.write(packet(0x10, Buffer.concat([vh, str(clientIdFor(estate, gateway)), str(`${estate}.${gateway}`), str(password)])));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (state === 'connack' && buf.length >= 4) {
        if (buf[0] !== 0x20 || buf[3] !== 0) return reject(new Error(`${gateway}: CONNACK ${buf.subarray(0, 4).toString('hex')}`));
        buf = buf.subarray(4);
        state = 'suback';
        s.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(topics.gatewayCommands(estate, gateway)), Buffer.from([1])])));
      }
      if (state === 'suback' && buf.length >= 5) {
        if (buf[0] !== 0x90) return reject(new Error(`${gateway}: expected SUBACK, got ${buf.subarray(0, 5).toString('hex')}`));
        s.removeAllListeners('close');
        s.removeAllListeners('data');
        resolve(s);
      }
    });
  });
}

/**
 * 10k idle gateways on a fresh hub. Provisioning writes the registry directly with a scrypt hash of
 * N=16 (the hub reads N, r, p from the stored hash): with the production N=2^15 every login costs
 * ~50-100 ms of CPU and 10k logins take 10+ minutes; the cost per held connection is the same.
 */
export async function idleRun(influx: Influxd, dir: string): Promise<Record<string, number>> {
  const dataDir = join(dir, 'hub-idle');
  const ids = Array.from({ length: CONNECTIONS }, (_, i) => ({ estate: `idle-${Math.floor(i / 500)}`, gateway: `gw-${i}`, password: randomBytes(24).toString('base64url') }));
  // The hub database the hub will open (created and migrated here), its registry tables written directly.
  const hubDb = await openDatabase({ file: join(dataDir, 'hub.db'), log: pino({ level: 'warn' }) });
  await hubDb.transaction(async (trx) => {
    const estates = [...new Set(ids.map((g) => g.estate))].map((id) => ({ id, street: null, grid: null, name: null }));
    await trx.insertInto('estates').values(estates).execute();
    const rows = ids.map((g) => {
      const salt = randomBytes(16);
      const key = scryptSync(g.password, salt, 32, { N: 16, r: 8, p: 1 });
      const secret_hash = `scrypt$16$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
      return { estate: g.estate, gateway: g.gateway, username: `${g.estate}.${g.gateway}`, secret_hash, created_at: Date.now(), rotated_at: null, revoked_at: null };
    });
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('gateways').values(rows.slice(i, i + 500)).execute();
  });
  await hubDb.close();
  const hub = await startHub(CURRENT, dataDir, { influxUrl: `${influx.url}/rb_idle` });
  const sockets: Socket[] = [];
  try {
    await sleep(2000);
    const before = procRss(hub.proc.pid!).rssMb;
    log(`idle: ${CONNECTIONS} authenticated gateway connections…`);
    const start = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 100 }, async () => {
      while (next < ids.length) {
        const g = ids[next++]!;
        sockets.push(await idleGateway(Number(new URL(hub.mqtt).port), g.estate, g.gateway, g.password));
      }
    }));
    const connectS = (performance.now() - start) / 1000;
    await sleep(5000); // idle: let the hub settle
    const after = procRss(hub.proc.pid!).rssMb;
    const perConn = (after - before) / CONNECTIONS;
    return { connections: CONNECTIONS, connect_s: connectS, rss_mb_before: before, rss_mb_after: after, kib_per_connection: perConn * 1024, rss_mb_10k: before + perConn * 10_000 };
  } finally {
    for (const s of sockets) s.destroy();
    await stopChild(hub.proc);
  }
}
