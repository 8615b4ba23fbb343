import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/push-writer.ts', import.meta.url));
const pgServer = usePostgres();

interface Writer {
  proc: ChildProcess;
  out: () => string;
}
async function startWriter(args: Record<string, unknown>): Promise<Writer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  if (!(await waitFor(() => out.includes('ready\n') || proc.exitCode !== null, 30_000, 20)) || !out.includes('ready\n')) {
    proc.kill('SIGKILL');
    throw new Error(`the writer did not start:\n${err.slice(-3000)}`);
  }
  return { proc, out: () => out };
}

/**
 * Issue 18 item 5 / the push log with several writer processes on one PostgreSQL (two hub nodes
 * writing `user:U`, or an estate's scope during a hand-over): each scope's sequence stays 1..N with
 * no gap and no number given twice, every message is stored once, and what each process sent its
 * sockets is exactly what it committed. Two real processes, started together on one real database.
 */
describe('push log: two writer processes on one PostgreSQL', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('gives gap-free, unique sequences per scope when both write the same scopes at once', async () => {
    const url = await pgServer().createDatabase('push_writers');
    // Migrate once before the writers start (both would race on the migration table otherwise).
    const { openDatabase } = await import('../../../hub/platform/db/index.js');
    const pino = (await import('pino')).default;
    await (await openDatabase({ url, log: pino({ level: 'silent' }) })).close();
    const ROUNDS = 400;
    const writers = [await startWriter({ url, name: 'a', rounds: ROUNDS }), await startWriter({ url, name: 'b', rounds: ROUNDS })];
    procs.push(...writers.map((w) => w.proc));
    for (const w of writers) w.proc.stdin!.write('go\n');
    expect(await waitFor(() => writers.every((w) => w.out().includes('done\n')), 25_000, 50), 'both writers done').toBe(true);
    const results = writers.map((w) => JSON.parse(w.out().split('\n')[1]!) as { sent: Array<[string, number, string]>; failed: number });
    expect(results.map((r) => r.failed)).toEqual([0, 0]);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const rows = (await db.query<{ scope: string; seq: string; data: string }>('SELECT scope, seq, data FROM push_log ORDER BY scope, seq')).rows;
      const byScope = new Map<string, Array<{ seq: number; data: string }>>();
      for (const r of rows) {
        const list = byScope.get(r.scope) ?? [];
        list.push({ seq: Number(r.seq), data: JSON.parse(r.data) as string });
        byScope.set(r.scope, list);
      }
      expect([...byScope.keys()].sort()).toEqual(['estate:other', 'estate:shared', 'user:u1']);
      for (const [scope, list] of byScope) {
        expect(
          list.map((r) => r.seq),
          `${scope}: 1..N, no gap`,
        ).toEqual(list.map((_, i) => i + 1));
      }
      // Every message once: 3 of 4 rounds one queued append, 1 of 4 a transaction of two.
      const stored = rows.map((r) => JSON.parse(r.data) as string);
      expect(new Set(stored).size).toBe(stored.length);
      expect(stored.length).toBe(2 * ROUNDS * (3 / 4 + 2 / 4));
      // What the processes emitted is what is stored, each seq by exactly one of them.
      const emitted = results.flatMap((r) => r.sent).map(([scope, seq, data]) => `${scope}#${seq}#${data}`);
      expect(new Set(emitted).size).toBe(emitted.length);
      expect(emitted.sort()).toEqual(rows.map((r) => `${r.scope}#${r.seq}#${JSON.parse(r.data) as string}`).sort());
      // They did write at once: the writers alternate along the shared user scope.
      const owners = byScope.get('user:u1')!.map((r) => r.data[0]);
      const switches = owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length;
      expect(switches).toBeGreaterThan(0);
      console.log(`push log, two writers: ${rows.length} rows, user:u1 changed writer ${switches} times`);
    } finally {
      await db.end();
    }
  }, 30_000);
});
