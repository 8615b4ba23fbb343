/**
 * Background load for bench/alerts.ts (a child process): publishes QoS 1 access.granted events of
 * ~200 bytes at a fixed rate as one gateway, with at most RB_BG_WINDOW unacknowledged, until it gets
 * SIGTERM; then prints one JSON line `{sent, acked, seconds, rate}`.
 *
 *   node --import tsx bench/background.ts   (RB_BG_URL, RB_BG_ESTATE, RB_BG_GATEWAY, RB_BG_USERNAME,
 *                                            RB_BG_PASSWORD, RB_BG_RATE, RB_BG_WINDOW)
 */
import mqtt from 'mqtt';
import { monotonicFactory } from 'ulid';
import { clientIdFor, topics, type RbEvent } from '../protocol/index.js';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const ESTATE = env('RB_BG_ESTATE');
const GATEWAY = env('RB_BG_GATEWAY');
const RATE = Number(env('RB_BG_RATE', '5000'));
const WINDOW = Number(env('RB_BG_WINDOW', '500'));
const TICK_MS = 10;

const nextId = monotonicFactory();
let seq = 0;
const client = mqtt.connect(env('RB_BG_URL'), {
  clientId: clientIdFor(ESTATE, GATEWAY),
  username: env('RB_BG_USERNAME'),
  password: env('RB_BG_PASSWORD'),
  clean: true,
  reconnectPeriod: 0,
});
let sent = 0;
let acked = 0;
let started = 0;

function publishOne(): void {
  const ts = Date.now();
  const event = {
    v: 1, id: nextId(ts), seq: ++seq, ts, estate: ESTATE, gateway: GATEWAY, device: `gate-bg-${seq % 4}`,
    type: 'access.granted', data: { door: 1, reader: 1, method: 'card', credential: '3f7a9c1e5b2d4f60' },
  } as RbEvent;
  sent++;
  client.publish(topics.event(ESTATE, GATEWAY, event.device), JSON.stringify(event), { qos: 1 }, (err) => {
    if (!err) acked++;
  });
}

client.once('connect', () => {
  started = Date.now();
  // Token bucket: every tick, publish what the rate allows, within the in-flight window.
  setInterval(() => {
    const due = Math.floor(((Date.now() - started) * RATE) / 1000);
    while (sent < due && sent - acked < WINDOW) publishOne();
  }, TICK_MS);
  process.stdout.write('ready\n');
});
client.on('error', (err) => {
  process.stderr.write(`background publisher: ${err.message}\n`);
  process.exit(1);
});
process.once('SIGTERM', () => {
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ sent, acked, seconds, rate: acked / seconds })}\n`);
  client.end(true, () => process.exit(0));
});
