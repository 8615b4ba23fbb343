import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import type { MqttClient } from 'mqtt';
import { buildDashboard, type DashboardSpec } from '../../dashboards/src/builders.js';
import { DASHBOARDS } from '../../dashboards/src/index.js';
import { ESTATE_REGEX, STREET_REGEX } from '../../dashboards/src/variables.js';
import { topics, type RbEvent } from '../../protocol/index.js';
import type { InfluxEventStore } from '../../hub/store/influx.js';
import { publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { useInfluxd } from '../support/use-influxd.js';
import { expand, panelInterval, type TimeRange } from './grafana-expand.js';
import { tableFrame, transform, type Frame } from './grafana-transform.js';

/**
 * Every panel's and variable's InfluxQL, expanded as Grafana does, against a real influxd loaded
 * with a simulated week of 3 estates on 2 streets, written through a real hub: events and gateway
 * status (with device names) over MQTT, alert transitions through hub.facts, estate names from the
 * registry. Table panels are then put through the transformations Grafana would run
 * (grafana-transform.ts), so the names that reach a row are checked too.
 */
const DB = 'redbutler';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ESTATES = [
  { estate: 'maple-court', street: 'east-street', name: '枫林苑' },
  { estate: 'pine-garden', street: 'east-street', name: '松园 二期' },
  { estate: 'willow-lane', street: 'west-street', name: '柳巷小区' },
];
/** The gateway config's device names, sent in every status. */
const DEVICES = {
  'gate-east': { online: true, kind: 'access-gate', name: '东门' },
  'barrier-1': { online: true, kind: 'barrier-gate', name: '车行道闸' },
  'cam-east': { online: true, kind: 'onvif-camera', name: '东门摄像机' },
} as const;
const DEVICE_NAMES = Object.fromEntries(Object.entries(DEVICES).map(([id, d]) => [id, d.name]));
const GATEWAY = 'gw-1';

type Series = { name?: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] };

const getInfluxd = useInfluxd();
let th: TestHub;
const now = Date.now();

async function influxql(q: string): Promise<Series[]> {
  const res = await fetch(`${getInfluxd().url}/query?${new URLSearchParams({ db: DB, q, epoch: 'ms' })}`);
  const body = (await res.json()) as { error?: string; results?: Array<{ error?: string; series?: Series[] }> };
  const error = body.error ?? body.results?.[0]?.error;
  if (error) throw new Error(`${error}\n  in: ${q}`);
  return body.results?.[0]?.series ?? [];
}

/** A series with at least one row holding a non-null value besides time. */
function nonEmpty(series: Series[]): boolean {
  return series.some((s) => s.values.some((row) => row.some((v, i) => s.columns[i] !== 'time' && v !== null)));
}

let seq = 0;
function event(estate: string, device: string, type: string, data: Record<string, unknown>, ts: number): RbEvent {
  return { v: 1, id: ulid(ts), seq: ++seq, ts, estate, gateway: GATEWAY, device, type, data } as RbEvent;
}

/** A week of one estate, oldest first: entries, doors, vehicles, cameras, outages, tamper. */
function week(estate: string, k: number): RbEvent[] {
  const out: RbEvent[] = [];
  const start = now - 7 * DAY + HOUR;
  for (let day = 0; day < 7; day++) {
    for (let h = 0; h < 24; h += 4) {
      const t = start + day * DAY + h * HOUR + k * 60_000;
      if (t > now - 10 * 60_000) continue;
      out.push(event(estate, 'gate-east', 'access.granted', { door: 1, method: 'card' }, t));
      out.push(event(estate, 'gate-east', 'door.opened', { door: 1 }, t + 1_000));
      out.push(event(estate, 'gate-east', 'door.closed', { door: 1 }, t + 9_000));
      out.push(event(estate, 'barrier-1', h % 8 === 0 ? 'vehicle.entered' : 'vehicle.exited', { list: 'allow', lane: 1 }, t + 20_000));
      out.push(event(estate, 'cam-east', 'camera.motion', { state: true }, t + 30_000));
    }
    const t = start + day * DAY + 13 * HOUR;
    out.push(event(estate, 'barrier-1', 'vehicle.entered', { list: 'other', lane: 1 }, t));
    out.push(event(estate, 'gate-east', 'access.denied', { door: 1, method: 'face', reason: 'face-mismatch' }, t + 1_000));
    if (day % 2 === k % 2) out.push(event(estate, 'gate-east', 'door.forced', { door: 1 }, t + 2_000));
    if (day === 3) out.push(event(estate, 'gate-east', 'door.held', { door: 1, heldS: 130 }, t + 3_000));
    if (day === 2) out.push(event(estate, 'cam-east', 'camera.tamper', { state: true }, t + 4_000));
    if (day === 4) out.push(event(estate, 'gate-east', 'device.tamper', { zone: 0 }, t + 5_000));
    if (day === 5) out.push(event(estate, 'cam-east', 'camera.signalLoss', { state: true }, t + 6_000));
    if (day === 1 || day === 5) {
      out.push(event(estate, 'cam-east', 'device.offline', { reason: 'no answer' }, t + 10_000));
      out.push(event(estate, 'cam-east', 'device.online', {}, t + 10_000 + (k + 1) * 15 * 60_000));
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

async function publish(client: MqttClient, topic: string, payload: unknown): Promise<void> {
  const outcome = await publishOutcome(client, topic, JSON.stringify(payload));
  if (outcome !== 'acked') throw new Error(`publish to ${topic}: ${JSON.stringify(outcome)}`);
}

beforeAll(async () => {
  th = await startTestHub({ influxUrl: `${getInfluxd().url}/${DB}` });
  await th.hub.registry.addStreet('east-street', '东街道');
  await th.hub.registry.addStreet('west-street', '西街道');
  let loaded = 0;
  await Promise.all(
    ESTATES.map(async ({ estate, street, name }, k) => {
      await th.hub.registry.addEstate(estate, { street, name });
      // Escalate within milliseconds, never hold a notification for quiet hours, and leave the
      // resolving to people (no auto-resolve within the test): the alert
      // engine then writes opened, escalated, acknowledged and resolved facts during the load.
      const settings = await th.api('PUT', `/api/v1/estates/${estate}/alert-settings`, {
        body: { escalation: { ackMinutes: [0.001, 0.002, 0.003], renotifyMinutes: 0 }, quietHours: { maxSeverity: 0 }, clearAfterS: 3600 },
      });
      expect(settings.status).toBe(200);
      const client = await th.connect(await th.provision(estate, GATEWAY));
      // Gateway status every 6 hours of the week, with outbox figures growing and shrinking.
      for (let i = 0; i < 28; i++) {
        const ts = now - 7 * DAY + i * 6 * HOUR + HOUR;
        await publish(client, topics.status(estate, GATEWAY), {
          v: 1, estate, gateway: GATEWAY, state: i === 10 + k ? 'offline' : 'online', ts, reason: 'heartbeat', uptimeS: i * 6 * 3600 + 0.5, devices: DEVICES,
          reconnects: Math.floor(i / 7), outbox: { depth: (i * 37 + k * 11) % 90, alarms: i % 3, bytes: 1024 * i, oldestAgeS: null, droppedTotal: i * k, droppedSinceStart: 0, pressure: false },
        });
      }
      for (const e of week(estate, k)) {
        await publish(client, topics.event(estate, GATEWAY, e.device), e);
        loaded += 1;
      }
    }),
  );
  expect(loaded).toBeGreaterThan(600);
  // The alerts the real engine opened from the week's events: people acknowledge them all and
  // resolve every other one over the REST API, as the volunteers' phones do.
  // Every estate must have escalated at least once (escalation runs on the hub's timer) before
  // anyone answers; then each estate's alerts are acknowledged and the first and every other resolved,
  // so every estate has facts of all four transitions.
  let alerts: Array<{ id: string; estate: string; state: string; level: number }> = [];
  const escalatedEverywhere = await waitFor(async () => {
    const r = await th.api('GET', '/api/v1/alerts?limit=500');
    alerts = r.json.items as typeof alerts;
    return ESTATES.every(({ estate }) => alerts.some((a) => a.estate === estate && a.level >= 1));
  }, 20_000, 100);
  expect(escalatedEverywhere, 'an escalated alert in every estate').toBe(true);
  for (const { estate } of ESTATES) {
    const mine = alerts.filter((a) => a.estate === estate && a.state !== 'resolved');
    expect(mine.length).toBeGreaterThan(0);
    for (const [i, a] of mine.entries()) {
      expect((await th.api('POST', `/api/v1/alerts/${a.id}/ack`, { body: {} })).status).toBe(200);
      if (i % 2 === 0) expect((await th.api('POST', `/api/v1/alerts/${a.id}/resolve`, { body: { note: 'checked' } })).status).toBe(200);
    }
  }
  const transitions = await waitFor(async () => {
    const s = await influxql('SELECT count("alert_id") FROM "raw"."alerts" GROUP BY "transition"');
    return new Set(s.map((x) => x.tags?.transition)).size === 4;
  }, 15_000, 100);
  expect(transitions, 'opened, escalated, acknowledged and resolved facts from the engine').toBe(true);
  const store = th.hub.store as InfluxEventStore;
  // device_availability is written after a store read (offline_s): wait for all 6 per estate.
  const facts = await waitFor(async () => {
    const s = await influxql('SELECT count("online") FROM "raw"."device_availability"');
    return s[0]?.values[0]?.[1] === ESTATES.length * 4;
  }, 15_000, 100);
  expect(facts).toBe(true);
  expect(await store.drained(10_000)).toBe(true);
  expect(store.stats().deadLettered).toBe(0);
  // The hourly CQ only resamples the last day; the week is rolled up as an operator would.
  await store.rollup(now - 8 * DAY, now + HOUR);
}, 120_000);

afterAll(async () => {
  await th?.stop();
});

const RANGES: Array<[string, TimeRange]> = [
  // The load runs after `now`, and the alert facts carry the hub's time of each transition.
  ['absolute (backend)', { kind: 'absolute', from: now - 7 * DAY, to: now + HOUR }],
  ['relative (browser)', { kind: 'relative', from: 'now-7d' }],
];

interface PanelJson {
  title: string;
  interval?: string;
  targets: Array<{ query: string; resultFormat: string }>;
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
}
const panelsOf = (spec: DashboardSpec): PanelJson[] => (buildDashboard(spec).panels ?? []) as unknown as PanelJson[];

/** The variable values a dashboard is viewed with: All for the street-wide ones, each estate for the one-estate ones. */
function selections(spec: DashboardSpec): Array<Record<string, string[]>> {
  if (spec.estate === 'multi') return [{ street: ['east-street', 'west-street'], estate: ESTATES.map((e) => e.estate) }];
  return ESTATES.map((e) => ({ street: [e.street], estate: [e.estate] }));
}

/** A panel's table as Grafana shows it: each target's answer in table format, then the panel's transformations. */
async function panelTable(p: PanelJson, variables: Record<string, string[]>): Promise<Frame[]> {
  const range = RANGES[0]![1];
  const frames: Frame[] = [];
  for (const t of p.targets) frames.push(tableFrame(await influxql(expand(t.query, { range, interval: panelInterval(7 * DAY, p.interval), variables }))));
  return transform(frames, p.transformations ?? []);
}

/** Grafana's regex on variable options: named groups `text` and `value`. */
function options(series: Series[], regex: string): Array<{ text: string; value: string }> {
  const re = new RegExp(regex.slice(1, regex.lastIndexOf('/')));
  return series
    .flatMap((x) => x.values.map((r) => String(r[1])))
    .map((v) => {
      const m = re.exec(v);
      if (!m?.groups) throw new Error(`option ${v} does not match ${regex}`);
      return { text: m.groups.text!, value: m.groups.value! };
    })
    .sort((a, b) => a.value.localeCompare(b.value));
}

describe('dashboard queries on a real influxd', () => {
  it('the variables list the streets and, chained, the estates of the chosen streets: names shown, ids as values', async () => {
    const [street, estate] = buildDashboard(DASHBOARDS[0]!).templating.list!.map((v) => v.query as string);
    expect(options(await influxql(street!), STREET_REGEX)).toEqual([
      { text: '东街道', value: 'east-street' },
      { text: '西街道', value: 'west-street' },
    ]);
    const streets = ['east-street', 'west-street'];
    const x = (st: string[]): string => expand(estate!, { range: RANGES[0]![1], interval: '10m', variables: { street: st } });
    const named = (...ids: string[]): Array<{ text: string; value: string }> => ESTATES.filter((e) => ids.includes(e.estate)).map((e) => ({ text: e.name, value: e.estate }));
    expect(options(await influxql(x(streets)), ESTATE_REGEX)).toEqual(named('maple-court', 'pine-garden', 'willow-lane'));
    expect(options(await influxql(x(['east-street'])), ESTATE_REGEX)).toEqual(named('maple-court', 'pine-garden'));
    expect(options(await influxql(x(['west-street'])), ESTATE_REGEX)).toEqual(named('willow-lane'));
  });

  it('an estate moved to another street moves in the lists at once (its latest name point)', async () => {
    await th.hub.registry.addEstate('willow-lane', { street: 'east-street' });
    try {
      // The hub re-reads the registry at most once a minute; re-pointing the source reads it now, and
      // the next status from the estate writes the change (as changes([estate]) does here).
      th.hub.facts.names.source(() => th.hub.registry.listEstates());
      th.hub.facts.write(th.hub.facts.names.changes(['willow-lane']));
      const estate = buildDashboard(DASHBOARDS[0]!).templating.list![1]!.query as string;
      const x = (st: string[]): string => expand(estate, { range: RANGES[0]![1], interval: '10m', variables: { street: st } });
      expect(await waitFor(async () => options(await influxql(x(['west-street'])), ESTATE_REGEX).length === 0, 5_000, 50)).toBe(true);
      expect(options(await influxql(x(['east-street'])), ESTATE_REGEX).map((o) => o.value)).toEqual(['maple-court', 'pine-garden', 'willow-lane']);
    } finally {
      await th.hub.registry.addEstate('willow-lane', { street: 'west-street' });
      th.hub.facts.names.source(() => th.hub.registry.listEstates());
      th.hub.facts.write(th.hub.facts.names.changes(['willow-lane']));
      expect(await (th.hub.store as InfluxEventStore).drained(5_000)).toBe(true);
    }
  });

  for (const spec of DASHBOARDS) {
    for (const [label, range] of RANGES) {
      it(`${spec.uid}: every panel query returns a non-empty series (${label}, ${spec.estate === 'multi' ? 'All streets and estates' : 'each estate'})`, async () => {
        const empty: string[] = [];
        for (const variables of selections(spec)) {
          for (const p of panelsOf(spec)) {
            for (const t of p.targets) {
              const q = expand(t.query, { range, interval: panelInterval(7 * DAY, p.interval), variables });
              expect(q).not.toMatch(/\$[a-z_]/i); // no macro or variable left
              if (!nonEmpty(await influxql(q))) empty.push(`${p.title}: ${q}`);
            }
          }
        }
        expect(empty).toEqual([]);
      });
    }
    it(`${spec.uid}: one estate selected gives only that estate`, async () => {
      const range = RANGES[0]![1];
      for (const p of panelsOf(spec)) {
        for (const t of p.targets) {
          const series = await influxql(expand(t.query, { range, interval: panelInterval(7 * DAY, p.interval), variables: { street: ['west-street'], estate: ['willow-lane'] } }));
          for (const s of series) {
            if (s.tags?.estate) expect(s.tags.estate).toBe('willow-lane');
            if (s.tags?.estate_name) expect(s.tags.estate_name).toBe('柳巷小区');
          }
          if (/GROUP BY .*"estate"/.test(t.query)) expect(series.length).toBeGreaterThan(0);
        }
      }
    });
    it(`${spec.uid}: every table row after Grafana's transformations has a name, never only an id`, async () => {
      for (const variables of selections(spec)) {
        for (const p of panelsOf(spec).filter((x) => x.targets.every((t) => t.resultFormat === 'table'))) {
          const [frame, ...more] = await panelTable(p, variables);
          expect(more, p.title).toEqual([]);
          expect(frame!.rows.length, p.title).toBeGreaterThan(0);
          for (const row of frame!.rows) {
            if ('estate' in row) {
              const estate = ESTATES.find((e) => e.estate === row.estate)!;
              expect(variables.estate, p.title).toContain(row.estate);
              expect(row.name ?? row.estate_name, `${p.title}: ${JSON.stringify(row)}`).toBe(estate.name);
            }
            if ('device' in row) expect(row.device_name, `${p.title}: ${JSON.stringify(row)}`).toBe(DEVICE_NAMES[row.device as string]);
          }
        }
      }
    });
  }

  it('the street overview lists each estate once with its name, gateways, open alerts and events', async () => {
    const p = panelsOf(DASHBOARDS[0]!).find((x) => x.targets.length === 4)!;
    const [frame] = await panelTable(p, { street: ['east-street', 'west-street'], estate: ESTATES.map((e) => e.estate) });
    expect(frame!.rows.map((r) => r.estate).sort()).toEqual(ESTATES.map((e) => e.estate));
    for (const row of frame!.rows) {
      expect(row.name).toBe(ESTATES.find((e) => e.estate === row.estate)!.name);
      expect(row.gateways_online).toBe(1);
      expect(row.open_alerts).toBeGreaterThan(0);
      expect(row.events).toBeGreaterThan(200);
    }
  });

  it('alerts open now: every open alert once, with age, level and name, and no resolved one', async () => {
    const api = (await th.api('GET', '/api/v1/alerts?limit=500')).json.items as Array<{ id: string; estate: string; state: string; level: number; openedAt: number }>;
    const open = api.filter((a) => a.state !== 'resolved');
    const resolved = api.filter((a) => a.state === 'resolved');
    expect(open.length).toBeGreaterThan(0);
    expect(resolved.length).toBeGreaterThan(0);
    for (const spec of DASHBOARDS.filter((d) => d.panels.some((x) => x.title.en === 'Alerts open now'))) {
      const p = panelsOf(spec).find((x) => x.targets[0]!.query.includes('"alerts_open"') && x.targets[0]!.query.includes('"alert_id", "resolved_at"'))!;
      for (const variables of selections(spec)) {
        const [frame] = await panelTable(p, variables);
        const expected = open.filter((a) => variables.estate!.includes(a.estate));
        expect(frame!.rows.map((r) => r.alert_id).sort(), `${spec.uid} ${variables.estate}`).toEqual(expected.map((a) => a.id).sort());
        for (const row of frame!.rows) {
          const a = open.find((x) => x.id === row.alert_id)!;
          expect(row.Time).toBe(a.openedAt); // the age is now - Time (unit dateTimeFromNow)
          expect(row.level).toBe(a.level);
          expect(row.state).toBe('acknowledged');
          expect(row.estate_name).toBe(ESTATES.find((e) => e.estate === a.estate)!.name);
          expect(row.resolved_at ?? null).toBeNull();
        }
      }
    }
    // A resolved row whose `state` a late write of an earlier transition overwrote is dropped by the transformation.
    const late = resolved[0]!;
    const [row] = (await influxql(`SELECT "state", "resolved_at" FROM "raw"."alerts_open" WHERE "alert_id" = '${late.id}'`))[0]!.values;
    expect(row![1]).toBe('resolved');
    expect(row![2]).toBeGreaterThan(late.openedAt);
  });

  it('facts carry the names: estate_name on gateway status, alerts and availability, device_name beside device', async () => {
    const tagValues = async (m: string, key: string): Promise<string[]> =>
      (await influxql(`SHOW TAG VALUES FROM "raw"."${m}" WITH KEY = "${key}"`)).flatMap((x) => x.values.map((r) => String(r[1]))).sort();
    const names = ESTATES.map((e) => e.name).sort();
    for (const m of ['gateway_status', 'alerts', 'device_availability']) expect(await tagValues(m, 'estate_name'), m).toEqual(names);
    expect(await tagValues('device_availability', 'device_name')).toEqual(['东门摄像机']);
    const devices = await influxql(`SELECT last("name") AS "name" FROM "raw"."device_names" GROUP BY "estate", "device"`);
    expect(devices.length).toBe(ESTATES.length * Object.keys(DEVICES).length);
    for (const s of devices) expect(s.values[0]![1]).toBe(DEVICE_NAMES[s.tags!.device!]);
  });

  it('facts: the hub created the hourly roll-ups of the facts next to cq_events_hourly', async () => {
    const cqs = (await influxql('SHOW CONTINUOUS QUERIES')).find((s) => s.name === DB)!.values.map((r) => r[0]);
    expect(cqs.sort()).toEqual(['cq_alerts_hourly', 'cq_events_hourly', 'cq_gateway_status_hourly']);
  });

  it('facts: offline time per device comes from device.offline -> device.online pairs', async () => {
    const s = await influxql(`SELECT sum("offline_s") FROM "raw"."device_availability" WHERE "estate" = 'pine-garden'`);
    // Two outages of (k + 1) * 15 minutes, k = 1.
    expect(s[0]?.values[0]?.[1]).toBe(2 * 30 * 60);
  });
});
