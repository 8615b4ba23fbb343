import type { InfluxHttp } from './influx-http.js';
import { MEASUREMENT, TAG_KEYS } from './influx-line.js';

/** Retention policy of the raw events (default RP of the database) and of the hourly counts. */
export const RAW_RP = 'raw';
export const HOURLY_RP = 'hourly';
export const HOURLY_MEASUREMENT = 'events_hourly';
export const HOURLY_CQ = 'cq_events_hourly';

export interface Retention {
  /** InfluxQL duration of raw events, e.g. `30d`; `INF` keeps them forever. */
  raw: string;
  /** InfluxQL duration of the hourly counts, e.g. `104w` (2 years). */
  hourly: string;
}

export const DEFAULT_RETENTION: Retention = { raw: '30d', hourly: '104w' };

/** DDL takes no bound parameters: durations are checked against this, names quoted below. */
const DURATION = /^(INF|[1-9]\d{0,5}[hdw])$/;
export const DATABASE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkRetention(r: Retention): void {
  for (const [key, value] of Object.entries(r)) {
    if (!DURATION.test(value)) throw new RangeError(`influx ${key} retention must be INF or <n>h|d|w, got ${JSON.stringify(value)}`);
  }
}

/** A quoted InfluxQL identifier (names are checked already; this is belt and braces). */
export function ident(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The SELECT of the hourly roll-up: events per hour per (estate, gateway, device, type), into
 * `hourly.events_hourly` with the field `events`. The continuous query runs exactly this; an
 * operator runs it with a time range (`rollup()`) to backfill after a backlog older than the CQ's
 * resample window arrived late.
 */
export function hourlySelect(database: string, where = ''): string {
  const db = ident(database);
  return (
    `SELECT count("id") AS "events" INTO ${db}.${ident(HOURLY_RP)}.${ident(HOURLY_MEASUREMENT)} ` +
    `FROM ${db}.${ident(RAW_RP)}.${ident(MEASUREMENT)}${where ? ` WHERE ${where}` : ''} ` +
    `GROUP BY time(1h), ${TAG_KEYS.map((t) => ident(t)).join(', ')}`
  );
}

/**
 * Runs every hour over the last day: a gateway that was offline (its outbox keeps events) or a
 * spool replay delivers late points, and the default CQ (last interval only) would miss them.
 */
export function hourlyCq(database: string): string {
  return `CREATE CONTINUOUS QUERY ${ident(HOURLY_CQ)} ON ${ident(database)} RESAMPLE EVERY 1h FOR 1d BEGIN ${hourlySelect(database)} END`;
}

/**
 * Database, retention policies and the continuous query, created or brought to the configured
 * settings. Idempotent: InfluxDB 1.6 accepts a CREATE identical to what exists, and answers
 * "already exists" to one that differs, which becomes an ALTER (RP) or DROP + CREATE (CQ).
 */
export async function ensureSchema(http: InfluxHttp, database: string, retention: Retention): Promise<void> {
  const db = ident(database);
  await http.query(`CREATE DATABASE ${db}`, {}, false);
  const policies: Array<[string, string, boolean]> = [
    [RAW_RP, retention.raw, true],
    [HOURLY_RP, retention.hourly, false],
  ];
  for (const [name, duration, isDefault] of policies) {
    const spec = `${ident(name)} ON ${db} DURATION ${duration} REPLICATION 1${isDefault ? ' DEFAULT' : ''}`;
    await createOr(http, `CREATE RETENTION POLICY ${spec}`, async () => {
      await http.query(`ALTER RETENTION POLICY ${spec}`, {}, false);
    });
  }
  await createOr(http, hourlyCq(database), async () => {
    await http.query(`DROP CONTINUOUS QUERY ${ident(HOURLY_CQ)} ON ${db}`, {}, false);
    await http.query(hourlyCq(database), {}, false);
  });
}

async function createOr(http: InfluxHttp, create: string, otherwise: () => Promise<void>): Promise<void> {
  try {
    await http.query(create, {}, false);
  } catch (err) {
    if (!/already exists/.test((err as Error).message)) throw err;
    await otherwise();
  }
}
