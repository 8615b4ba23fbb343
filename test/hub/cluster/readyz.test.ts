import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePostgres } from '../../support/postgres.js';
import { startRedis, type Redis } from '../../support/redis.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { pino } from 'pino';
import { openDatabase } from '../../../hub/platform/db/index.js';
import type { Readiness } from '../../../hub/platform/readiness.js';

/**
 * `/readyz` (issue 18): 200 only while the node can commit to its PostgreSQL and reach its Redis,
 * each within 2 s; 503 naming what failed otherwise. Real PostgreSQL and redis-server, stopped and
 * restarted by PID under a running hub.
 */
const pg = usePostgres({ durable: true });

async function readyz(hub: TestHub): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${hub.httpUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Readiness };
}

/** Ask until the answer has `status` (a recovering dependency takes a moment); fail after 20 s. */
async function until(hub: TestHub, status: number): Promise<Readiness> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await readyz(hub);
    if (r.status === status) return r.body;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${r.status}: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('hub /readyz on PostgreSQL and Redis', () => {
  let redis: Redis;
  let hub: TestHub;
  let dbUrl: string;
  beforeAll(async () => {
    redis = await startRedis({ persistence: true });
    dbUrl = await pg().createDatabase('readyz');
    hub = await startTestHub({ config: { db: { url: dbUrl }, cluster: { nodeId: 'node-a', redisUrl: redis.url } } });
  });
  afterAll(async () => {
    await hub?.stop();
    await redis?.stop();
  });

  it('is ready when both answer, and its check is a commit (the node heartbeat row)', async () => {
    const { status, body } = await readyz(hub);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ready: true, node: 'node-a', checks: { database: { ok: true }, redis: { ok: true } } });
    const db = await openDatabase({ url: dbUrl, log: pino({ level: 'silent' }) });
    try {
      const before = await db.db.selectFrom('node_heartbeats').selectAll().where('node_id', '=', 'node-a').executeTakeFirstOrThrow();
      await new Promise((r) => setTimeout(r, 5));
      await readyz(hub);
      const after = await db.db.selectFrom('node_heartbeats').selectAll().where('node_id', '=', 'node-a').executeTakeFirstOrThrow();
      expect(after.beat_at).toBeGreaterThan(before.beat_at);
    } finally {
      await db.close();
    }
  });

  it('answers 503 within the bound while PostgreSQL hangs (SIGSTOP), and 200 again once it resumes', async () => {
    pg().pause();
    try {
      const started = Date.now();
      const { status, body } = await readyz(hub);
      expect(status).toBe(503);
      expect(body.ready).toBe(false);
      expect(body.checks.database).toMatchObject({ ok: false, error: 'no answer within 2000 ms' });
      expect(body.checks.redis).toMatchObject({ ok: true });
      // Bounded by the hub, not by the driver (which would wait for ever); generous for a loaded machine.
      expect(Date.now() - started).toBeLessThan(8_000);
      // A second check while the first write still hangs waits on the same one.
      expect((await readyz(hub)).status).toBe(503);
    } finally {
      pg().resume();
    }
    expect(await until(hub, 200)).toMatchObject({ checks: { database: { ok: true } } });
  });

  it('answers 503 while PostgreSQL is killed (-9), and 200 after its restart', async () => {
    await pg().kill9();
    const body = await until(hub, 503);
    expect(body.checks.database.ok).toBe(false);
    expect(body.checks.database.error).toBeTruthy();
    await pg().restart();
    await until(hub, 200);
  });

  it('answers 503 naming Redis while Redis is down, and 200 after its restart', async () => {
    await redis.kill9();
    const { status, body } = await readyz(hub);
    expect(status).toBe(503);
    expect(body.checks.database.ok).toBe(true);
    expect(body.checks.redis).toMatchObject({ ok: false });
    expect(body.checks.redis!.error).toMatch(/cannot reach redis at 127\.0\.0\.1:\d+/);
    await redis.restart();
    await until(hub, 200);
  });
});

describe('hub /readyz without a cluster', () => {
  it('checks only the embedded database and says nothing of Redis', async () => {
    const hub = await startTestHub();
    try {
      const { status, body } = await readyz(hub);
      expect(status).toBe(200);
      expect(body.checks.database.ok).toBe(true);
      expect(body.checks.redis).toBeUndefined();
    } finally {
      await hub.stop();
    }
  });
});
