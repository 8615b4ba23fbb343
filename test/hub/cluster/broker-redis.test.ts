import { afterAll, describe, expect, it } from 'vitest';
import { connectGateway, endClient, startTestHub, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { startRedis, type Redis } from '../../support/redis.js';

/**
 * The broker on Redis (cluster.redisUrl) when Redis dies under it: no 'error' left unheard (ioredis,
 * mqemitter-redis and aedes each emit one; unheard, it ends the process), commands refused at once,
 * and a stop that does not wait for ioredis to give up on the writes aedes makes as it closes
 * (observed: 15 s, the lifecycle's bound, before the broker bounded it).
 */
const pg = usePostgres();

describe('the hub broker on Redis, Redis killed -9', () => {
  let redis: Redis | undefined;
  let hub: TestHub | undefined;
  afterAll(async () => {
    await hub?.stop();
    await redis?.stop();
  });

  it('refuses commands at once and stops within a few seconds', async () => {
    redis = await startRedis();
    const dbUrl = await pg().createDatabase('broker_redis');
    hub = await startTestHub({ config: { db: { url: dbUrl }, cluster: { nodeId: 'node-a', redisUrl: redis.url } } });
    const creds = await hub.provision('e1', 'gw-1');
    const gw = await connectGateway(`mqtt://127.0.0.1:${hub.mqttPort}`, creds, { clean: false, reconnectPeriod: 0 });
    try {
      await gw.subscribeAsync('rb/v1/e1/gw-1/+/cmd', { qos: 1 });
      await redis.kill9();
      await new Promise((r) => setTimeout(r, 300));
      await expect(hub.hub.commands.issue({ estate: 'e1', gateway: 'gw-1', device: 'gate-1', name: 'door.open', args: { door: 1 }, actor: { id: 'system' } })).rejects.toMatchObject({
        code: 'RB_ERR_CLUSTER_UNAVAILABLE',
      });
      const t0 = Date.now();
      await hub.stop();
      const ms = Date.now() - t0;
      hub = undefined;
      console.log(`[cluster] hub stopped in ${ms} ms with Redis down`);
      expect(ms).toBeLessThan(8_000);
    } finally {
      await endClient(gw).catch(() => undefined);
    }
  }, 60_000);
});
