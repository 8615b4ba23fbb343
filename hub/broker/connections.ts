import type { Bus } from '../bus.js';

/** The gateways connected to this hub now (for /healthz), from the broker's connection changes. */
export function trackConnections(bus: Pick<Bus, 'on'>): { count(): number; off(): void } {
  const connected = new Set<string>();
  const off = bus.on('gateway.connection', ({ estate, gateway, connected: up }) => {
    if (up) connected.add(`${estate}/${gateway}`);
    else connected.delete(`${estate}/${gateway}`);
  });
  return { count: () => connected.size, off };
}
