import { afterEach, describe, expect, it } from 'vitest';
import { redisPing } from '../../hub/platform/redis-ping.js';
import { redisCommand, startRedis, type Redis } from './redis.js';
import { freePort } from './ports.js';

/** The test support for a real redis-server (issue 18) and the hub's RESP PING, against it. */
describe('test/support/redis: a real redis-server', () => {
  const started: Redis[] = [];
  const start = async (opts: Parameters<typeof startRedis>[0] = {}): Promise<Redis> => {
    const r = await startRedis(opts);
    started.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of started.splice(0)) await r.stop();
  });

  it('with persistence, comes back from kill -9 with its data, or empty when asked', async () => {
    const r = await start({ persistence: true });
    expect(await redisCommand(r.port, 'SET', 'k', 'v1')).toBe('+OK');
    const first = r.pid();
    await r.kill9();
    expect(r.pid()).toBeUndefined();
    expect(await redisPing(r.url, 1000)).toMatch(/cannot reach redis/);
    await r.restart();
    expect(r.pid()).not.toBe(first);
    expect(await redisCommand(r.port, 'GET', 'k')).toBe('$2\r\nv1');
    await r.restart({ empty: true });
    expect(await redisCommand(r.port, 'GET', 'k')).toBe('$-1');
  });

  it('without persistence, every restart is empty', async () => {
    const r = await start();
    expect(await redisCommand(r.port, 'SET', 'k', 'v1')).toBe('+OK');
    await r.restart();
    expect(await redisCommand(r.port, 'GET', 'k')).toBe('$-1');
  });

  it('paused by SIGSTOP it does not answer PING in time; resumed, it does', async () => {
    const r = await start();
    r.pause();
    expect(await redisPing(r.url, 300)).toBe('no answer to PING within 300 ms');
    r.resume();
    expect(await redisPing(r.url, 2000)).toBe(true);
  });

  it('stop() ends the server by its PID and removes the dir', async () => {
    const r = await start();
    const pid = r.pid()!;
    await r.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await redisPing(r.url, 1000)).not.toBe(true);
  });
});

describe('hub/platform/redis-ping', () => {
  it('authenticates when the URL has a password, and says why when it is wrong', async () => {
    const r = await startRedis({ password: 's3cret' });
    try {
      expect(r.url).toBe(`redis://:s3cret@127.0.0.1:${r.port}`);
      expect(await redisPing(r.url, 2000)).toBe(true);
      expect(await redisPing(`redis://127.0.0.1:${r.port}`, 2000)).toMatch(/^redis answered NOAUTH/);
      expect(await redisPing(`redis://:wrong@127.0.0.1:${r.port}`, 2000)).toMatch(/^redis answered WRONGPASS/);
    } finally {
      await r.stop();
    }
  });

  it('reports a refused port and a bad URL', async () => {
    expect(await redisPing(`redis://127.0.0.1:${await freePort()}`, 2000)).toMatch(/cannot reach redis at 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    expect(await redisPing('http://x', 2000)).toBe('not a redis:// URL: http:');
  });
});
