import type { Logger } from '../../lib/log.js';
import type { GatewayStatus, RbEvent } from '../../protocol/index.js';
import type { Bus } from '../bus.js';
import type { InfluxHttp } from './influx-http.js';
import type { Point, PointField } from './influx-line.js';
import { NameBook, type EstateEntry, type StreetEntry } from './facts-names.js';
import { HOURLY_RP, ident, RAW_RP } from './influx-schema.js';
import type { EventStore } from './types.js';

/**
 * Facts: what dashboards need besides raw events — gateway health, alert transitions, device
 * availability — as InfluxDB points next to `raw.events` (docs/storage.md, "Facts"). Written
 * fire-and-forget through the store's writer, so they share its batching, spool and dead letters.
 * With the SQLite store there is no Grafana to feed: facts are dropped (a no-op writer).
 */
export interface FactPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  /** ms since epoch; a fraction keeps µs (InfluxDB keys a point by measurement, tags and time). */
  ts: number;
}

export interface FactsWriter {
  /** `influxdb`: points go to InfluxDB; `none`: the SQLite store, points are dropped. */
  readonly kind: 'influxdb' | 'none';
  /**
   * Never throws and never rejects: a failure is logged, an unencodable point dead-lettered. Every
   * point gets `estate_name` / `device_name` tags from `names`; an `alerts` point also updates its
   * alert's row in `alerts_open` (alertOpenFact).
   */
  write(points: readonly FactPoint[]): void;
  /** Estate and device names (hub/store/facts-names.ts); subscribeFacts feeds it. */
  readonly names: NameBook;
  /** After the store started: the facts' hourly continuous queries (InfluxDB). */
  start(): Promise<void>;
}

/** A store that takes generic points (the InfluxDB store). */
export interface PointSink {
  writePoints(points: readonly Point[]): Promise<void>;
  ensureFactsSchema(): Promise<void>;
}

type Kind = PointField['kind'];

/**
 * The type of every numeric field, per measurement: InfluxDB keeps one type per field and shard,
 * and a JS number does not say whether it is `5i` or `5.0`. Undeclared numbers are floats.
 */
export const FACT_FIELDS: Record<string, Record<string, Kind>> = {
  gateway_status: { online: 'int', outbox_depth: 'int', outbox_alarms: 'int', dropped_total: 'int', reconnects: 'int', uptime_s: 'float' },
  alerts: { alert_id: 'string', count: 'int', level: 'int', open_delta: 'int', ack_s: 'float', resolve_s: 'float', opened_at: 'int' },
  alerts_open: { severity: 'int', level: 'int', count: 'int', opened_at: 'int', resolved_at: 'int' },
  device_availability: { online: 'int', offline_s: 'float' },
};

export function toPoint(f: FactPoint): Point {
  const declared = FACT_FIELDS[f.measurement] ?? {};
  const fields: Record<string, PointField> = {};
  for (const [key, value] of Object.entries(f.fields)) {
    if (typeof value === 'string') fields[key] = { kind: 'string', value };
    else if (typeof value === 'boolean') fields[key] = { kind: 'bool', value };
    else fields[key] = { kind: declared[key] === 'int' ? 'int' : 'float', value };
  }
  return { measurement: f.measurement, tags: f.tags, fields, ts: f.ts };
}

function isSink(store: EventStore): store is EventStore & PointSink {
  return store.kind === 'influxdb' && typeof (store as Partial<PointSink>).writePoints === 'function';
}

/** The facts writer of a store: InfluxDB's writer path, or a documented no-op for SQLite. */
export function createFacts(store: EventStore, log?: Logger): FactsWriter {
  const names = new NameBook();
  if (!isSink(store)) return { kind: 'none', names, write: () => undefined, start: async () => undefined };
  return {
    kind: 'influxdb',
    names,
    start: () => store.ensureFactsSchema(),
    write(points) {
      if (points.length === 0) return;
      const all = points.flatMap((p) => {
        const tagged = names.tag(p);
        const open = alertOpenFact(tagged);
        return open ? [tagged, open] : [tagged];
      });
      store.writePoints(all.map(toPoint)).catch((err: unknown) => log?.warn({ err, points: all.length }, 'facts not written'));
    },
  };
}

export { NO_STREET } from './facts-names.js';

/** One `gateway_status` point from a status message (announce, heartbeat, shutdown, LWT). */
export function gatewayStatusFact(s: GatewayStatus, street: string, receivedAt = Date.now()): FactPoint {
  const fields: FactPoint['fields'] = { online: s.state === 'online' ? 1 : 0 };
  if (s.outbox) {
    fields.outbox_depth = s.outbox.depth;
    fields.outbox_alarms = s.outbox.alarms;
    fields.dropped_total = s.outbox.droppedTotal;
  }
  if (s.reconnects !== undefined) fields.reconnects = s.reconnects;
  if (s.uptimeS !== undefined) fields.uptime_s = s.uptimeS;
  // The LWT is published by the broker with the gateway's stale ts; the hub's clock says when it went.
  const ts = s.reason === 'lwt' ? receivedAt : s.ts;
  return { measurement: 'gateway_status', tags: { estate: s.estate, gateway: s.gateway, street }, fields, ts };
}

export type AlertTransition = 'opened' | 'acknowledged' | 'escalated' | 'resolved';

export interface AlertLike {
  id: string;
  estate: string;
  rule: string;
  severity: number;
  count: number;
  level: number;
  openedAt: number;
}

/**
 * One `alerts` point per transition. `open_delta` is +1 on opened, -1 on resolved: its sum over the
 * retention is the number of alerts open now. The alert id (a field) also spreads the point time
 * over the µs of its millisecond, so two alerts of one rule in one ms stay two points.
 */
export function alertFact(alert: AlertLike, transition: AlertTransition, at: number): FactPoint {
  const fields: FactPoint['fields'] = {
    alert_id: alert.id,
    count: alert.count,
    level: alert.level,
    open_delta: transition === 'opened' ? 1 : transition === 'resolved' ? -1 : 0,
    opened_at: Math.floor(alert.openedAt),
  };
  if (transition === 'acknowledged') fields.ack_s = Math.max(0, at - alert.openedAt) / 1000;
  if (transition === 'resolved') fields.resolve_s = Math.max(0, at - alert.openedAt) / 1000;
  const tags = { estate: alert.estate, rule: alert.rule, severity: String(alert.severity), transition };
  return { measurement: 'alerts', tags, fields, ts: Math.floor(at) + (fnv1a(alert.id) % 1000) / 1000 };
}

/**
 * The alert's row in `alerts_open`, from one of its `alerts` points: one point per alert, at its
 * opening time (plus the same µs spread as alertFact), tag `estate` only, so that every transition
 * writes the same series and time and InfluxDB merges the fields into one point (a point written
 * again with the same series and time takes the union of the fields, the newer value winning:
 * docs.influxdata.com/influxdb/v1.8/troubleshooting/frequently-asked-questions/#how-does-influxdb-handle-duplicate-points).
 * The last transition's `state`, `level`, `severity` overwrite the earlier ones; `resolved_at` is
 * written only by the resolution, so no later-arriving write of an earlier transition (two writes in
 * flight at once, a request left to finish while its batch is spooled) can take it away: the
 * dashboards' table of open alerts filters on `state` in InfluxQL and drops a row with
 * `resolved_at` in Grafana. Undefined for other measurements or an `alerts` point without
 * `opened_at` (written before this field existed).
 */
export function alertOpenFact(p: FactPoint): FactPoint | undefined {
  if (p.measurement !== 'alerts') return undefined;
  const { alert_id: id, opened_at: openedAt, level, count } = p.fields;
  const { estate, rule, severity, transition, estate_name: name } = p.tags;
  if (typeof id !== 'string' || typeof openedAt !== 'number' || !estate || !rule || !transition) return undefined;
  const fields: FactPoint['fields'] = { alert_id: id, rule, severity: Number(severity), state: transition, opened_at: openedAt, estate_name: name ?? estate };
  if (typeof level === 'number') fields.level = level;
  if (typeof count === 'number') fields.count = count;
  if (transition === 'resolved') fields.resolved_at = Math.floor(p.ts);
  return { measurement: 'alerts_open', tags: { estate }, fields, ts: openedAt + (fnv1a(id) % 1000) / 1000 };
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface FactsWiring {
  bus: Bus;
  facts: FactsWriter;
  /** For `offline_s`: the device's last offline/online events before an online event. */
  store: EventStore;
  /** The registry's estates with their street and name (read at most once a minute). */
  estates: () => ReadonlyArray<EstateEntry>;
  /** The registry's streets with their name (read with the estates). */
  streets?: () => ReadonlyArray<StreetEntry>;
}

/**
 * Gateway status and connection changes become `gateway_status` points; device.offline/online
 * events become `device_availability` points, with `offline_s` on the way back (from the store, so
 * a hub restart in between loses nothing). The names (registry estates, device names of each
 * status) go to the writer's NameBook, and the lookup points due go with each status
 * (hub/store/facts-names.ts). Returns the unsubscribe function.
 */
export function subscribeFacts(w: FactsWiring): () => void {
  if (w.facts.kind === 'none') return () => undefined;
  const names = w.facts.names;
  names.source(w.estates, w.streets);
  const offs = [
    w.bus.on('gateway.status', (s) => {
      names.learn(s);
      w.facts.write([gatewayStatusFact(s, names.street(s.estate)), ...names.changes([s.estate])]);
    }),
    w.bus.on('gateway.connection', ({ estate, gateway, connected }) =>
      w.facts.write([
        { measurement: 'gateway_status', tags: { estate, gateway, street: names.street(estate) }, fields: { online: connected ? 1 : 0 }, ts: Date.now() },
        ...names.changes([estate]),
      ]),
    ),
    // Runs for every event: not async, so the other types cost a comparison, not a promise.
    w.bus.on('event', (e) => {
      if (e.type !== 'device.offline' && e.type !== 'device.online') return;
      return availabilityFact(w, e);
    }),
  ];
  return () => offs.forEach((off) => off());
}

async function availabilityFact(w: FactsWiring, e: RbEvent): Promise<void> {
  const fields: FactPoint['fields'] = { online: e.type === 'device.online' ? 1 : 0 };
  if (e.type === 'device.online') {
    const since = await offlineSince(w.store, e);
    if (since !== undefined) fields.offline_s = (e.ts - since) / 1000;
  }
  w.facts.write([{ measurement: 'device_availability', tags: { estate: e.estate, gateway: e.gateway, device: e.device }, fields, ts: e.ts }]);
}

/** When the device went offline, if its latest availability event before `e` is an offline one. */
async function offlineSince(store: EventStore, e: RbEvent): Promise<number | undefined> {
  const q = { estate: e.estate, device: e.device, to: e.ts, limit: 1 };
  const [off, on] = await Promise.all([store.query({ ...q, type: 'device.offline' }), store.query({ ...q, type: 'device.online' })]);
  const offAt = off[0]?.ts;
  if (offAt === undefined) return undefined;
  return on[0] && on[0].ts >= offAt ? undefined : offAt;
}

/**
 * Hourly roll-ups of the facts into RP `hourly` (kept 2 years, like events_hourly): sums and counts
 * rather than means, so any longer period can be averaged exactly.
 */
export function factsCqs(database: string): Array<{ name: string; select: string }> {
  const db = ident(database);
  const from = (m: string): string => `${db}.${ident(RAW_RP)}.${ident(m)}`;
  const into = (m: string): string => `${db}.${ident(HOURLY_RP)}.${ident(m)}`;
  return [
    {
      name: 'cq_alerts_hourly',
      select:
        `SELECT count("alert_id") AS "transitions", sum("ack_s") AS "ack_s_sum", count("ack_s") AS "ack_n", ` +
        `sum("resolve_s") AS "resolve_s_sum", count("resolve_s") AS "resolve_n" INTO ${into('alerts_hourly')} FROM ${from('alerts')} ` +
        `GROUP BY time(1h), "estate", "rule", "severity", "transition"`,
    },
    {
      name: 'cq_gateway_status_hourly',
      select:
        `SELECT max("outbox_depth") AS "outbox_depth", max("dropped_total") AS "dropped_total", max("reconnects") AS "reconnects", ` +
        `min("online") AS "online_min", mean("online") AS "online_mean" INTO ${into('gateway_status_hourly')} FROM ${from('gateway_status')} ` +
        `GROUP BY time(1h), "estate", "street", "gateway"`,
    },
  ];
}

/** Create the facts CQs (RESAMPLE like cq_events_hourly); one that differs is dropped and re-created. */
export async function ensureFactsSchema(http: InfluxHttp, database: string): Promise<void> {
  for (const { name, select } of factsCqs(database)) {
    const create = `CREATE CONTINUOUS QUERY ${ident(name)} ON ${ident(database)} RESAMPLE EVERY 1h FOR 1d BEGIN ${select} END`;
    try {
      await http.query(create, {}, false);
    } catch (err) {
      if (!/already exists/.test((err as Error).message)) throw err;
      await http.query(`DROP CONTINUOUS QUERY ${ident(name)} ON ${ident(database)}`, {}, false);
      await http.query(create, {}, false);
    }
  }
}
