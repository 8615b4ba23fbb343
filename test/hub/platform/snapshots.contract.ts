import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSnapshotStore, sha256Hex, type SnapshotLink, type SnapshotStore } from '../../../hub/snapshots.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

/**
 * The snapshot store's contract (STYLE.md §4) on every engine and image placement: links, one image
 * per content, the size cap and the sha256 check on the way in and (database) on the way out.
 * `images` undefined: the engine's default (files on SQLite, the table on PostgreSQL).
 */
export function describeSnapshots(engine: string, factory: DatabaseFactory, images?: 'files' | 'database'): void {
  describe(`snapshot store on ${engine}${images ? ` (images: ${images})` : ''}`, () => {
    let t: DatabaseUnderTest;
    let dir: string;
    let store: SnapshotStore;
    let placement: 'files' | 'database';
    beforeEach(async () => {
      t = await factory();
      dir = mkdtempSync(join(tmpdir(), 'rb-snap-'));
      store = openSnapshotStore({ dataDir: dir, db: t.db, maxBytes: 64 * 1024, ...(images && { images }) });
      placement = images ?? (t.db.dialect === 'postgres' ? 'database' : 'files');
    });
    afterEach(async () => {
      await t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    /** A JPEG-looking body of `n` bytes (SOI marker, then bytes that do not compress). */
    const jpeg = (n: number, seed: number): Buffer => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7919 + ((i * i) >> 3)) & 0xff;
      b[0] = 0xff;
      b[1] = 0xd8;
      return b;
    };
    const linkOf = (bytes: Buffer, eventId: string, estate = 'maple', takenAt = 1000): SnapshotLink => ({
      eventId, sha256: sha256Hex(bytes), estate, gateway: 'gw-1', device: 'gate-1', camera: 'cam-1', takenAt,
    });
    const bytesOf = async (sha: string): Promise<Buffer | undefined> => {
      const img = await store.image(sha);
      return img === undefined ? undefined : img.file !== undefined ? readFileSync(img.file) : img.bytes;
    };
    const blobRows = async () => (await t.db.db.selectFrom('snapshot_blobs').select(['sha256', 'size']).execute()).map((r) => ({ ...r, size: Number(r.size) }));
    const files = (): string[] => (existsSync(join(dir, 'snapshots')) ? readdirSync(join(dir, 'snapshots'), { recursive: true }).map(String).filter((f) => f.endsWith('.jpg')) : []);

    it('keeps one image per content, links it to each event, and serves the same bytes', async () => {
      const a = jpeg(50_000, 1);
      const b = jpeg(20_000, 2);
      expect(await store.put(linkOf(a, 'E1', 'maple', 2000), a)).toBe(true);
      expect(await store.put(linkOf(a, 'E1', 'maple', 2000), a)).toBe(false); // the gateway's retry
      expect(await store.put(linkOf(a, 'E2', 'elm', 1000), a)).toBe(true); // same picture, other event
      expect(await store.put(linkOf(b, 'E1', 'maple', 1000), b)).toBe(true);

      expect((await bytesOf(sha256Hex(a)))!.equals(a)).toBe(true);
      expect((await bytesOf(sha256Hex(b)))!.equals(b)).toBe(true);
      expect(await store.image('0'.repeat(64))).toBeUndefined();
      expect((await store.forEvent('E1')).map((l) => l.sha256)).toEqual([sha256Hex(b), sha256Hex(a)]);
      expect(await store.forEvent('E1')).toContainEqual(linkOf(a, 'E1', 'maple', 2000));
      expect((await store.estatesOf(sha256Hex(a))).sort()).toEqual(['elm', 'maple']);
      expect(await store.forEvents(['E1', 'E2', 'E3'])).toEqual(new Map([['E1', [sha256Hex(b), sha256Hex(a)]], ['E2', [sha256Hex(a)]]]));

      // Where the bytes are: the table or the data dir, never both.
      if (placement === 'database') {
        expect((await blobRows()).sort((x, y) => x.size - y.size)).toEqual([{ sha256: sha256Hex(b), size: 20_000 }, { sha256: sha256Hex(a), size: 50_000 }]);
        expect(files()).toEqual([]);
        expect((await store.image(sha256Hex(a)))!.file).toBeUndefined();
      } else {
        expect(await blobRows()).toEqual([]);
        expect(files().sort()).toEqual([`${sha256Hex(a).slice(0, 2)}/${sha256Hex(a)}.jpg`, `${sha256Hex(b).slice(0, 2)}/${sha256Hex(b)}.jpg`].sort());
      }
    });

    it('refuses bytes over the cap or not matching their sha256, and stores no link for them', async () => {
      const big = jpeg(64 * 1024 + 1, 3);
      await expect(store.put(linkOf(big, 'E1'), big)).rejects.toThrow(/over the cap/);
      const ok = jpeg(1000, 4);
      const forged = { ...linkOf(ok, 'E1'), sha256: sha256Hex(jpeg(1000, 5)) };
      await expect(store.put(forged, ok)).rejects.toThrow(/do not match/);
      expect(await store.forEvent('E1')).toEqual([]);
      expect(await blobRows()).toEqual([]);
      expect(files()).toEqual([]);
      // Exactly at the cap is fine.
      const edge = jpeg(64 * 1024, 6);
      expect(await store.put(linkOf(edge, 'E1'), edge)).toBe(true);
    });

    if (placementOf(engine, images) === 'database') {
      it('never serves a stored image whose bytes no longer hash to its key', async () => {
        const a = jpeg(5000, 7);
        await store.put(linkOf(a, 'E1'), a);
        const damaged = Buffer.from(a);
        damaged[100] = damaged[100]! ^ 0xff;
        await t.db.db.updateTable('snapshot_blobs').set({ bytes: damaged }).where('sha256', '=', sha256Hex(a)).execute();
        await expect(store.image(sha256Hex(a))).rejects.toThrow(/does not match its sha256/);
      });

      it("still serves an image this node kept as a file before the hub moved to the database", async () => {
        const old = jpeg(3000, 8);
        const sha = sha256Hex(old);
        mkdirSync(join(dir, 'snapshots', sha.slice(0, 2)), { recursive: true });
        writeFileSync(join(dir, 'snapshots', sha.slice(0, 2), `${sha}.jpg`), old);
        expect((await bytesOf(sha))!.equals(old)).toBe(true);
      });
    }
  });
}

/** Placement known before the factory runs (for choosing the cases): PostgreSQL engines default to the table. */
function placementOf(engine: string, images?: 'files' | 'database'): 'files' | 'database' {
  return images ?? (/postgres/i.test(engine) ? 'database' : 'files');
}
