import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteOutbox } from '../../../gateway/outbox-sqlite.js';
import { silentLogger } from '../../../lib/log.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/append-loop.ts', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rb-outbox-crash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Run the append loop in a real child process and SIGKILL it once it has reported `killAfter` stored
 * appends: no chance to flush, close or run a finally. Returns what it printed, whole lines only.
 */
async function appendUntilKilled(file: string, killAfter: number): Promise<{ handedOut: number[]; appended: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let appended = 0;
  // A guard, so a child that hangs is still stopped and the test fails instead of leaking a process.
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    appended += chunk.split('\na ').length - 1;
    if (appended >= killAfter) child.kill('SIGKILL');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(guard);
  expect({ code, signal, err }).toEqual({ code: null, signal: 'SIGKILL', err: '' });
  const lines = out.slice(0, out.lastIndexOf('\n')).split('\n');
  expect(lines[0]).toBe('ready');
  const pick = (tag: string) => lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.slice(2)));
  return { handedOut: pick('n'), appended: pick('a') };
}

describe('sqlite outbox: kill -9', () => {
  it('keeps every append that resolved and never repeats a seq, over three crashes', async () => {
    const file = join(dir, 'crash.db');
    const everAppended: number[] = [];
    let highest = 0;
    for (let round = 0; round < 3; round++) {
      const { handedOut, appended } = await appendUntilKilled(file, 800 + round * 300);
      expect(appended.length).toBeGreaterThanOrEqual(800);
      // Seqs of this run are above every seq of earlier runs, including handed-out-but-never-appended.
      expect(Math.min(...handedOut)).toBeGreaterThan(highest);
      highest = Math.max(highest, ...handedOut);
      everAppended.push(...appended);

      const outbox = createSqliteOutbox({ file, log: silentLogger() });
      await outbox.start();
      try {
        const present = new Set(outbox.read({ alarm: 0, routine: 0 }, 1_000_000).map((e) => e.seq));
        const missing = everAppended.filter((s) => !present.has(s));
        expect(missing).toEqual([]);
        expect(outbox.stats().depth).toBeGreaterThanOrEqual(everAppended.length);
        expect(outbox.nextSeq()).toBeGreaterThan(highest);
      } finally {
        await outbox.stop();
      }
      highest += 1; // the nextSeq() just above was handed out too
    }
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      raw.close();
    }
  }, 60_000); // three child processes that each load tsx, on a shared 2-core box
});
