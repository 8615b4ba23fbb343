import type { Server } from 'node:http';
import { service, type Service } from '../../lib/service.js';
import type { Push } from './push.js';

/**
 * The HTTP server and push (Socket.IO on it) as one service. At stop, in this order: stop accepting
 * connections, then drop the sockets (push refuses new handshakes from then on), then end every HTTP
 * connection left (keep-alive, long-polling). Otherwise a screen could reconnect in between and hold a
 * socket to a hub that is stopping, showing itself live; and an open WebSocket would hold http.close() back.
 */
export function httpWithPush(http: Server, push: Pick<Push, 'start' | 'stop'>, listen: { port: number; host: string }): Service {
  return service(
    'http',
    async () => {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(listen.port, listen.host, () => resolve());
      });
      await push.start();
    },
    async () => {
      const closed = new Promise<void>((r) => http.close(() => r()));
      await push.stop();
      http.closeAllConnections();
      await closed;
    },
  );
}
