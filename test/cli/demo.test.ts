import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ESTATES } from '../../cli/demo-street.js';
import { startCli, stopProcess } from '../support/cli.js';
import { freePort } from '../support/ports.js';

/**
 * `red-butler demo` as a user runs it, a process tree on fixed free ports: its first alert comes
 * within 10 s of the start, and every door and barrier of both estates opens through the real
 * gateways (the ISAPI gates and barriers by their Digest-protected ISAPI servers, the ZKTeco
 * controller through its ADMS command poll), asked over the hub's REST API with the printed token.
 * Its street has work orders (12345 imports, a phone call, a resident's QR report) and a patrol round.
 */
const dir = mkdtempSync(join(tmpdir(), 'rb-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Audit {
  action: string;
  detail: { id?: string; status?: string; code?: string | null };
}

describe('red-butler demo', () => {
  it('raises its first alert within 10 s, and every door and barrier answers a command', async () => {
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    const started = Date.now();
    const demo = startCli(['demo', '--data-dir', join(dir, 'demo'), '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--push-port', String(pushPort)]);
    try {
      const base = `http://127.0.0.1:${httpPort}`;
      let token: string | undefined;
      let firstAlertMs: number | undefined;
      while (Date.now() - started < 20_000 && firstAlertMs === undefined) {
        await new Promise((r) => setTimeout(r, 200));
        token ??= /API token \(admin, scripts\): (\S+)/.exec(demo.output())?.[1];
        if (!token) continue;
        const res = await fetch(`${base}/api/v1/alerts?limit=5`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
        if (res?.ok && ((await res.json()) as { items: unknown[] }).items.length > 0) firstAlertMs = Date.now() - started;
      }
      expect(firstAlertMs, demo.output()).toBeDefined();
      process.stdout.write(`demo: first alert ${firstAlertMs} ms after the start\n`);
      expect(firstAlertMs!).toBeLessThanOrEqual(10_000);

      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      const targets = ESTATES.flatMap((e) => [
        ...e.gates.map((g) => ({ estate: e.id, device: g.id, name: 'door.open' })),
        ...(e.zkteco ? [{ estate: e.id, device: e.zkteco.id, name: 'door.open' }] : []),
        { estate: e.id, device: e.barrier.id, name: 'barrier.open' },
      ]);
      expect(targets).toHaveLength(6);
      const ids = new Map<string, string>();
      for (const t of targets) {
        // The hub knows a device once its gateway's status listed it: the first tries may be 404.
        const deadline = Date.now() + 10_000;
        for (;;) {
          const r = await api('POST', '/api/v1/commands', { ...t, args: {} });
          if (r.status === 202) {
            ids.set(r.json.id as string, `${t.estate}/${t.device}`);
            break;
          }
          expect(Date.now() < deadline, `${t.device}: ${JSON.stringify(r.json)}`).toBe(true);
          await new Promise((res) => setTimeout(res, 250));
        }
      }
      const results = new Map<string, Audit>();
      const deadline = Date.now() + 15_000;
      while (results.size < ids.size && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        for (const action of ['command.result', 'command.failed']) {
          const r = await api('GET', `/api/v1/audit?action=${action}&limit=100`);
          for (const a of (r.json.items ?? []) as Audit[]) if (a.detail.id && ids.has(a.detail.id)) results.set(a.detail.id, a);
        }
      }
      const outcome = Object.fromEntries([...ids].map(([id, target]) => [target, results.get(id)?.detail.status ?? results.get(id)?.action ?? 'no answer']));
      expect(outcome).toEqual(Object.fromEntries([...ids.values()].map((t) => [t, 'ok'])));
      // Work orders (issue 19): the two imported 12345 orders and the phone call are there, and a patrol round.
      const orders = ((await api('GET', '/api/v1/work-orders?limit=50')).json.items ?? []) as Array<{ source: string; externalNo?: string | null }>;
      expect(orders.filter((o) => o.source === 'hotline').map((o) => o.externalNo).sort()).toEqual(['12345-DEMO-0001', '12345-DEMO-0002']);
      expect(orders.filter((o) => o.source === 'phone')).toHaveLength(1);
      // A resident's report through the QR page, with its photo (metadata stripped by the hub).
      const resident = orders.filter((o) => o.source === 'resident') as Array<{ id: string; source: string }>;
      expect(resident.length).toBeGreaterThanOrEqual(1);
      const detail = (await api('GET', `/api/v1/work-orders/${resident[0]!.id}`)).json as { steps?: Array<{ photos: unknown[] }> };
      expect(detail.steps?.[0]?.photos).toHaveLength(1);
      expect(((await api('GET', `/api/v1/patrol/rounds?estate=${ESTATES[0]!.id}`)).json.items as unknown[]).length).toBeGreaterThan(0);
      // No alarming log line while the devices and gateways came up.
      expect(demo.output()).not.toMatch(/"level":50|session setup failed/);
    } finally {
      expect(await stopProcess(demo), demo.output().slice(-4000)).toBe(0);
    }
  }, 60_000);
});
