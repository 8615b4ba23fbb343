import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useInfluxd } from '../../support/use-influxd.js';
import { makeEvent, newestFirst, T0 } from './contract.js';
import { dropDatabase, influxStore, useTempDir } from './influx-support.js';

const server = useInfluxd();
const dir = useTempDir('rb-influx-journal-');
const CHILD = fileURLToPath(new URL('./influx-journal-child.ts', import.meta.url));

/** Resolves when the child prints `line`. */
function waitLine(p: ReturnType<typeof spawn>, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(line)) resolve();
    });
    p.once('exit', (code) => reject(new Error(`child exited ${code} before "${line}": ${out}`)));
  });
}

describe('influx store in journal mode (the hub\'s)', () => {
  it('acknowledges before InfluxDB answers, and a kill -9 right after loses nothing: the next start replays the journal', async () => {
    const db = 'rb_journal_kill';
    const spoolFile = join(dir(), 'spool.db');
    const events = Array.from({ length: 400 }, (_, i) => makeEvent('door.opened', { door: 1 + (i % 4) }, { ts: T0 + i }));
    const eventsFile = join(dir(), 'events.json');
    writeFileSync(eventsFile, JSON.stringify(events));
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, `${server().url}/${db}`, spoolFile, eventsFile], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await waitLine(child, 'started');
      server().pause(); // InfluxDB hangs: only the journal can make these writes durable
      const acked = waitLine(child, 'acked');
      const t0 = Date.now();
      child.stdin!.write('go\n');
      await acked;
      expect(Date.now() - t0).toBeLessThan(1_000); // not the 2 s spool-after bound: the journal acked
    } finally {
      child.kill('SIGKILL');
      server().resume();
    }
    const next = influxStore(server().url, db, dir(), { spoolFile, retention: { raw: 'INF' }, journal: true });
    await next.start();
    try {
      expect(await next.drained(15_000)).toBe(true);
      expect(next.stats()).toMatchObject({ spooled: 400, replayed: 400, spoolDepth: 0, mode: 'direct' });
      expect(await next.query({ limit: 1000 })).toEqual([...events].sort(newestFirst));
    } finally {
      await next.stop();
      await dropDatabase(server().url, db);
    }
  });

  it('reads its own acknowledged writes at once', async () => {
    const db = 'rb_journal_read';
    const store = influxStore(server().url, db, dir(), { retention: { raw: 'INF' }, journal: true });
    await store.start();
    try {
      const events = Array.from({ length: 50 }, (_, i) => makeEvent('door.closed', { door: 1 }, { ts: T0 + i }));
      await store.write(events);
      expect(await store.query({ limit: 100 })).toEqual([...events].sort(newestFirst));
      expect(store.stats()).toMatchObject({ written: 50, spooled: 0, mode: 'direct' });
    } finally {
      await store.stop();
      await dropDatabase(server().url, db);
    }
  });
});
