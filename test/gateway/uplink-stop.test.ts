import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryOutbox } from '../../gateway/outbox.js';
import { createUplink } from '../../gateway/uplink.js';
import { silentLogger } from '../../lib/log.js';
import { topics } from '../../protocol/index.js';
import { waitFor } from '../support/hub.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * A gateway's stop after its link was cut with a QoS 1 publish unacknowledged. mqtt.js's reconnect()
 * (the uplink calls it without stores) forgets that packet but kept waiting for its PUBACK, so the
 * clean end waited for ever and the forced end after the bound was ignored: the socket stayed open
 * and the hub counted the gateway connected until its keepalive ran out (seen in
 * test/hub/cluster/commands.test.ts). A real aedes broker that never acknowledges one topic.
 */
describe('uplink stop after a cut link', () => {
  let broker: Aedes | undefined;
  let server: Server | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await proxy?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await new Promise<void>((r) => (broker ? broker.close(() => r()) : r()));
  });

  it('ends with a clean DISCONNECT at once, whatever the lost connection left unacknowledged', async () => {
    broker = await Aedes.createBroker({
      authorizePublish(_client, packet, done) {
        if (packet.topic === 'rb/v1/e1/gw-1/held') return; // never acknowledged
        done(null);
      },
    });
    const ready: string[] = [];
    const gone: string[] = [];
    const wills: string[] = [];
    broker.on('clientReady', (c) => void ready.push(c.id));
    broker.on('clientDisconnect', (c) => void gone.push(c.id));
    broker.on('publish', (p) => {
      if (p.topic === topics.status('e1', 'gw-1')) wills.push(p.payload.toString());
    });
    const b = broker;
    server = createServer((socket) => b.handle(socket));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    proxy = await startTcpProxy(port);

    const uplink = createUplink({ estate: 'e1', gateway: 'gw-1', url: `mqtt://127.0.0.1:${proxy.port}`, username: 'u', password: 'p', keepaliveS: 30, outbox: createMemoryOutbox(), log: silentLogger(), backoffMinMs: 20, backoffMaxMs: 100 });
    await uplink.start();
    expect(await waitFor(() => ready.length === 1 && uplink.connected(), 5_000, 20)).toBe(true);
    const held = uplink.publish('rb/v1/e1/gw-1/held', 'x', { qos: 1 }).then(() => 'acked', (err: Error) => err.message);
    await new Promise((r) => setTimeout(r, 100));

    proxy.cut();
    // Both sides: the broker's clientReady comes before the CONNACK reaches the uplink (a stop before it is a forced close).
    expect(await waitFor(() => ready.length === 2 && gone.length === 1 && uplink.connected(), 5_000, 20), 'reconnected').toBe(true);

    await uplink.stop();
    expect(await waitFor(() => gone.length === 2, 5_000, 20), 'the broker sees the connection end').toBe(true);
    // A clean DISCONNECT, not the close past the stop's bound: no Last Will (the cut connection's only).
    expect(wills.filter((w) => w.includes('"lwt"')), 'Last Wills published').toHaveLength(1);
    // The lost publish is answered: it will never be acknowledged.
    expect(await held).toBe('Message removed');
  }, 30_000);
});
