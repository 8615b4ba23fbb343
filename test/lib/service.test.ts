import { describe, expect, it } from 'vitest';
import { createRunner, service, type Service } from '../../lib/service.js';
import { captureLog } from '../support/hub.js';

function recorder(): { calls: string[]; svc: (name: string, o?: { failStart?: boolean; failStop?: boolean; hangStop?: boolean; startMs?: number }) => Service } {
  const calls: string[] = [];
  return {
    calls,
    svc: (name, o = {}) =>
      service(
        name,
        async () => {
          if (o.startMs) await new Promise((r) => setTimeout(r, o.startMs));
          calls.push(`start ${name}`);
          if (o.failStart) throw new Error(`${name} cannot start`);
        },
        async () => {
          calls.push(`stop ${name}`);
          if (o.failStop) throw new Error(`${name} cannot stop`);
          if (o.hangStop) await new Promise(() => undefined);
        },
      ),
  };
}

describe('service runner', () => {
  it('starts in order and stops in reverse, once', async () => {
    const { calls, svc } = recorder();
    const { log } = captureLog();
    const runner = createRunner([svc('db'), svc('http'), svc('broker')], { log });
    await runner.start();
    expect(runner.running()).toEqual(['db', 'http', 'broker']);
    await Promise.all([runner.stop(), runner.stop()]);
    await runner.stop();
    expect(calls).toEqual(['start db', 'start http', 'start broker', 'stop broker', 'stop http', 'stop db']);
    expect(runner.running()).toEqual([]);
    await expect(runner.start()).rejects.toThrow(/stopped/);
  });

  it('a failed start stops what had started, in reverse, and rethrows', async () => {
    const { calls, svc } = recorder();
    const { log, lines } = captureLog();
    const runner = createRunner([svc('db'), svc('http', { failStart: true }), svc('broker')], { log });
    await expect(runner.start()).rejects.toThrow('http cannot start');
    expect(calls).toEqual(['start db', 'start http', 'stop db']);
    expect(lines.some((l) => l.service === 'http' && /failed to start/.test(l.msg))).toBe(true);
  });

  it('a stop that fails or hangs is logged and the others still stop', async () => {
    const { calls, svc } = recorder();
    const { log, lines } = captureLog();
    const runner = createRunner([svc('db'), svc('push', { hangStop: true }), svc('http', { failStop: true })], { log, stopTimeoutMs: 50 });
    await runner.start();
    await runner.stop();
    expect(calls.slice(3)).toEqual(['stop http', 'stop push', 'stop db']);
    expect(lines.filter((l) => l.level >= 50).map((l) => [l.service, l.msg])).toEqual([
      ['http', 'service failed to stop'],
      ['push', 'service did not stop in time; going on'],
    ]);
  });

  it('stop during start waits for the service starting, starts nothing more, and stops what started', async () => {
    const { calls, svc } = recorder();
    const { log } = captureLog();
    const runner = createRunner([svc('db'), svc('http', { startMs: 50 }), svc('broker')], { log });
    const started = runner.start();
    await new Promise((r) => setTimeout(r, 10));
    await runner.stop();
    await expect(started).rejects.toThrow(/stopped while starting, before broker/);
    expect(calls).toEqual(['start db', 'start http', 'stop http', 'stop db']);
  });

  it('refuses two services with one name', () => {
    const { log } = captureLog();
    expect(() => createRunner([service('a', () => undefined), service('a', () => undefined)], { log })).toThrow('two services are named a');
  });
});
