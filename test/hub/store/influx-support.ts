import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createInfluxStore, type InfluxEventStore, type InfluxStoreOptions } from '../../../hub/store/influx.js';
import { silentLogger } from '../../../lib/log.js';

/** A temp dir for spool files, removed after the file's tests. */
export function useTempDir(prefix: string): () => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

let n = 0;
/** An InfluxDB store on `base/db` with its own spool file in `dir`. */
export function influxStore(base: string, db: string, dir: string, over: Partial<InfluxStoreOptions> = {}): InfluxEventStore {
  return createInfluxStore({ url: `${base}/${db}`, log: silentLogger(), spoolFile: join(dir, `spool-${db}-${++n}.db`), ...over });
}

/** One InfluxQL statement over raw HTTP (what an operator or Grafana would send). */
export async function rawQuery(base: string, db: string, q: string): Promise<Array<{ name?: string; columns: string[]; values: unknown[][] }>> {
  const res = await fetch(`${base}/query`, { method: 'POST', body: new URLSearchParams({ db, q }) });
  const body = (await res.json()) as { results: Array<{ error?: string; series?: Array<{ name?: string; columns: string[]; values: unknown[][] }> }> };
  if (body.results[0]?.error) throw new Error(body.results[0].error);
  return body.results[0]?.series ?? [];
}

/** A raw line-protocol write, bypassing the store (to set up a poison situation). */
export async function rawWrite(base: string, db: string, lines: string, rp = 'raw'): Promise<number> {
  const res = await fetch(`${base}/write?db=${db}&rp=${rp}&precision=ns`, { method: 'POST', body: lines });
  await res.text();
  return res.status;
}

export async function dropDatabase(base: string, db: string): Promise<void> {
  await fetch(`${base}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }) });
}
