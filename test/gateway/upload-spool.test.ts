import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSnapshotService } from '../../gateway/snapshots.js';
import { createUploadSpool } from '../../gateway/upload-spool.js';
import { createLogger } from '../../lib/log.js';
import { waitFor } from '../support/hub.js';

/**
 * The upload spool the snapshots and alarm clips share: a snapshot spool of the former layout (table
 * `pending`) is taken over on upgrade, a body the hub refuses (413) is dropped rather than sent forever,
 * and past `maxPending` the oldest goes (its file with it).
 */
const log = createLogger({ name: 'spool-test', level: 'silent' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('upload spool', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let answer = 201;
  const seen: URL[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-spool-'));
    seen.length = 0;
    answer = 201;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(new URL(req.url ?? '/', 'http://hub'));
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads what a gateway of the former layout had kept (table pending) after an upgrade', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const db = new Database(join(dir, 'snapshots.db'));
    db.exec('CREATE TABLE pending (n INTEGER PRIMARY KEY, event_id TEXT NOT NULL, device TEXT NOT NULL, camera TEXT NOT NULL, sha256 TEXT NOT NULL, taken_at INTEGER NOT NULL, UNIQUE (event_id, camera))');
    db.prepare('INSERT INTO pending (event_id, device, camera, sha256, taken_at) VALUES (?, ?, ?, ?, ?)').run('01JOLDEVENT0000000000000001', 'gate-1', 'cam-1', sha(jpeg), 1234);
    db.close();
    mkdirSync(join(dir, 'snapshots'));
    writeFileSync(join(dir, 'snapshots', `${sha(jpeg)}.jpg`), jpeg);
    const service = createSnapshotService({ dataDir: dir, hubUrl: url, username: 'u', password: 'p', log, take: () => Promise.reject(new Error('unused')) });
    expect(service.pending()).toBe(1);
    service.start();
    expect(await waitFor(() => service.pending() === 0, 5_000)).toBe(true);
    await service.stop();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.pathname).toBe(`/api/v1/snapshots/${sha(jpeg)}`);
    expect(Object.fromEntries(seen[0]!.searchParams)).toEqual({ event: '01JOLDEVENT0000000000000001', device: 'gate-1', camera: 'cam-1', takenAt: '1234' });
    expect(existsSync(join(dir, 'snapshots', `${sha(jpeg)}.jpg`))).toBe(false);
  });

  it('drops a body the hub refuses as too large; past maxPending the oldest goes with its file', async () => {
    answer = 413;
    const spool = createUploadSpool({ dataDir: dir, name: 'clips', ext: 'mp4', contentType: 'video/mp4', route: 'api/v1/clips', hubUrl: url, username: 'u', password: 'p', log, maxPending: 2 });
    const bodies = [1, 2, 3].map((n) => Buffer.alloc(32, n));
    for (const [i, b] of bodies.entries()) spool.add({ key: `e${i}/cam`, sha256: sha(b), query: { event: `e${i}` } }, b);
    expect(spool.pending()).toBe(2);
    expect(existsSync(join(dir, 'clips', `${sha(bodies[0]!)}.mp4`))).toBe(false);
    spool.start();
    expect(await waitFor(() => spool.pending() === 0, 5_000)).toBe(true);
    expect(seen.map((u) => u.searchParams.get('event'))).toEqual(['e1', 'e2']);
    await spool.stop();
  });
});
