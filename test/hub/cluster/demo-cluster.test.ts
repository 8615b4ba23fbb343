import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startCli, stopProcess } from '../../support/cli.js';
import { freePort } from '../../support/ports.js';

/**
 * `red-butler demo --cluster` as a user runs it (issue 18 item 7): PostgreSQL, redis-server, HAProxy
 * and two hub processes from the Debian binaries, the demo's gateways through HAProxy. Both nodes
 * answer /readyz, an event of a simulated gateway is stored and read back through HAProxy, the
 * failover the banner tells of happens (hub-a killed -9: both gateways on hub-b), and a Ctrl+C
 * (SIGINT to the demo alone) leaves no process and no work dir behind.
 */
/** Running and not a zombie (an orphan may wait for a reaper that never comes in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('red-butler demo --cluster', () => {
  it('serves the street from two nodes behind HAProxy and stops every process it started', async () => {
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    const demo = startCli(['demo', '--cluster', '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--push-port', String(pushPort), '--rate', '5']);
    try {
      // initdb, PostgreSQL, Redis, HAProxy, two hubs, the simulator and two gateways, one after another.
      const deadline = Date.now() + 60_000;
      while (!demo.output().includes('Ctrl+C stops everything.')) {
        expect(demo.exitCode, demo.output()).toBeNull();
        expect(Date.now() < deadline, `no banner within 60 s:\n${demo.output()}`).toBe(true);
        await new Promise((r) => setTimeout(r, 200));
      }
      const out = demo.output();
      const nodes = [...out.matchAll(/node (hub-[ab]): readyz (\S+)/g)].map((m) => ({ node: m[1]!, url: m[2]! }));
      expect(nodes.map((n) => n.node)).toEqual(['hub-a', 'hub-b']);
      for (const n of nodes) {
        const res = await fetch(n.url);
        expect(res.status, n.node).toBe(200);
        expect(await res.json()).toMatchObject({ ready: true, node: n.node, checks: { database: { ok: true }, redis: { ok: true } } });
      }
      const base = `http://127.0.0.1:${httpPort}`;
      expect(out).toContain(`screens (through HAProxy): ${base}/`);
      // Through HAProxy: ready, and a simulated device's event, from its gateway, stored in PostgreSQL.
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const token = /API token \(admin, scripts\): (\S+)/.exec(out)![1]!;
      let events: Array<{ estate: string; type: string }> = [];
      const until = Date.now() + 15_000;
      while (events.length === 0 && Date.now() < until) {
        const res = await fetch(`${base}/api/v1/events?limit=5`, { headers: { authorization: `Bearer ${token}` } });
        if (res.ok) events = ((await res.json()) as { items: typeof events }).items;
        if (events.length === 0) await new Promise((r) => setTimeout(r, 250));
      }
      expect(events.length, demo.output()).toBeGreaterThan(0);
      expect(events[0]!.estate).toMatch(/^demo-estate/);

      const pids = [.../processes: +(.+)/.exec(out)![1]!.matchAll(/=([\d,]+)/g)].flatMap((m) => m[1]!.split(',').map(Number));
      expect(pids.length).toBeGreaterThanOrEqual(8); // postgres (+ runuser as root), redis, haproxy, 2 hubs, simulator, 2 gateways
      expect(pids.every(alive)).toBe(true);
      const workDir = /work dir: +(\S+)/.exec(out)![1]!;
      expect(existsSync(workDir)).toBe(true);

      // The failover the banner shows: kill -9 hub-a; HAProxy sends both gateways to hub-b.
      const killA = /kill -9 (\d+) +# hub-a/.exec(out)![1]!;
      const healthz = async (url: string): Promise<number> => ((await (await fetch(url.replace('/readyz', '/healthz'))).json()) as { gatewaysConnected: number }).gatewaysConnected;
      // leastconn over two hubs that were both up: one gateway on each.
      expect(await healthz(nodes[0]!.url)).toBe(1);
      process.kill(Number(killA), 'SIGKILL');
      const onB = (): Promise<number> => healthz(nodes[1]!.url);
      const moveBy = Date.now() + 20_000;
      while ((await onB()) < 2 && Date.now() < moveBy) await new Promise((r) => setTimeout(r, 250));
      expect(await onB(), demo.output()).toBe(2);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      // Ctrl+C, to the demo alone: it stops everything by PID.
      expect(await stopProcess(demo, 'SIGINT', 25_000)).toBe(0);
      expect(pids.filter(alive)).toEqual([]);
      expect(existsSync(workDir)).toBe(false);
    } finally {
      // A failed test too lets the demo stop what it started (a SIGKILL would leave PostgreSQL, Redis,
      // HAProxy and the hubs running); SIGKILL only if it does not.
      await stopProcess(demo, 'SIGINT', 25_000);
    }
  }, 120_000);
});
