import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that can turn into a slow drip: requests go through untouched; answers
 * go through at once until `drip(true)`, then `bytesPerTick` bytes every `tickMs` (a camera on a
 * dying link, or one that means harm). What the drip holds back is bounded: the upstream socket is
 * paused while more than 256 KiB wait, so the server behind it feels the backpressure.
 */
export interface DripProxy {
  port: number;
  drip(on: boolean): void;
  /** Bytes passed to clients so far. */
  delivered(): number;
  connections(): number;
  close(): Promise<void>;
}

const HIGH = 256 * 1024;

export async function startDripProxy(targetPort: number, opts: { dripping?: boolean; bytesPerTick?: number; tickMs?: number } = {}): Promise<DripProxy> {
  let dripping = opts.dripping ?? false;
  const perTick = opts.bytesPerTick ?? 20;
  const pairs = new Set<{ client: Socket; upstream: Socket; pump(): void }>();
  let delivered = 0;

  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    client.setNoDelay(true);
    let held: Buffer[] = [];
    let heldBytes = 0;
    const pass = (b: Buffer): void => {
      delivered += b.length;
      client.write(b);
    };
    const pair = {
      client,
      upstream,
      /** Everything held goes out when not dripping; at most `perTick` bytes when dripping. */
      pump() {
        let budget = dripping ? perTick : Infinity;
        while (held.length && budget > 0 && !client.destroyed) {
          const b = held[0]!;
          const n = Math.min(b.length, budget);
          pass(b.subarray(0, n));
          budget -= n;
          heldBytes -= n;
          if (n === b.length) held.shift();
          else held[0] = b.subarray(n);
        }
        if (heldBytes < HIGH / 4 && upstream.isPaused()) upstream.resume();
      },
    };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      held = [];
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.on('data', (b: Buffer) => {
      if (!dripping && !held.length) return pass(b);
      held.push(b);
      heldBytes += b.length;
      if (heldBytes > HIGH) upstream.pause();
    });
  });
  const ticker = setInterval(() => {
    for (const p of pairs) p.pump();
  }, opts.tickMs ?? 10);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    drip(on) {
      dripping = on;
    },
    delivered: () => delivered,
    connections: () => pairs.size,
    close() {
      clearInterval(ticker);
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
