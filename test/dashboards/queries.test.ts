import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import type { MqttClient } from 'mqtt';
import { buildDashboard } from '../../dashboards/src/builders.js';
import { DASHBOARDS } from '../../dashboards/src/index.js';
import { topics, type RbEvent } from '../../protocol/index.js';
import type { InfluxEventStore } from '../../hub/store/influx.js';
import { publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { useInfluxd } from '../support/use-influxd.js';
import { expand, panelInterval, type TimeRange } from './grafana-expand.js';

/**
 * Every panel's and variable's InfluxQL, expanded as Grafana does, against a real influxd loaded
 * with a simulated week of 3 estates on 2 streets, written through a real hub: events and gateway
 * status over MQTT, alert transitions through hub.facts.
 */
const DB = 'redbutler';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ESTATES = [
  { estate: 'maple-court', street: 'east-street' },
  { estate: 'pine-garden', street: 'east-street' },
  { estate: 'willow-lane', street: 'west-street' },
];
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
  th.hub.registry.addStreet('east-street');
  th.hub.registry.addStreet('west-street');
  let loaded = 0;
  await Promise.all(
    ESTATES.map(async ({ estate, street }, k) => {
      th.hub.registry.addEstate(estate, { street });
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
          v: 1, estate, gateway: GATEWAY, state: i === 10 + k ? 'offline' : 'online', ts, reason: 'heartbeat', uptimeS: i * 6 * 3600 + 0.5,
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

describe('dashboard queries on a real influxd', () => {
  it('the variables list the streets and, chained, the estates of the chosen streets', async () => {
    const [street, estate] = buildDashboard(DASHBOARDS[0]!).templating.list!.map((v) => v.query as string);
    const values = (s: Series[]): string[] => s.flatMap((x) => x.values.map((r) => String(r[1]))).sort();
    const streets = values(await influxql(street!));
    expect(streets).toEqual(['east-street', 'west-street']);
    const x = (st: string[]): string => expand(estate!, { range: RANGES[0]![1], interval: '10m', variables: { street: st } });
    expect(values(await influxql(x(streets)))).toEqual(ESTATES.map((e) => e.estate));
    expect(values(await influxql(x(['east-street'])))).toEqual(['maple-court', 'pine-garden']);
    expect(values(await influxql(x(['west-street'])))).toEqual(['willow-lane']);
  });

  for (const spec of DASHBOARDS) {
    for (const [label, range] of RANGES) {
      it(`${spec.uid}: every panel query returns a non-empty series (${label}, All streets and estates)`, async () => {
        const d = buildDashboard(spec);
        const variables = { street: ['east-street', 'west-street'], estate: ESTATES.map((e) => e.estate) };
        const empty: string[] = [];
        for (const panel of d.panels ?? []) {
          const p = panel as unknown as { title: string; interval?: string; targets: Array<{ query: string }> };
          for (const t of p.targets) {
            const q = expand(t.query, { range, interval: panelInterval(7 * DAY, p.interval), variables });
            expect(q).not.toMatch(/\$[a-z_]/i); // no macro or variable left
            if (!nonEmpty(await influxql(q))) empty.push(`${p.title}: ${q}`);
          }
        }
        expect(empty).toEqual([]);
      });
    }
    it(`${spec.uid}: one estate selected gives only that estate`, async () => {
      const d = buildDashboard(spec);
      const range = RANGES[0]![1];
      for (const panel of d.panels ?? []) {
        const p = panel as unknown as { interval?: string; targets: Array<{ query: string }> };
        for (const t of p.targets) {
          const series = await influxql(expand(t.query, { range, interval: panelInterval(7 * DAY, p.interval), variables: { street: ['west-street'], estate: ['willow-lane'] } }));
          for (const s of series) if (s.tags?.estate) expect(s.tags.estate).toBe('willow-lane');
          if (/GROUP BY .*"estate"/.test(t.query)) expect(series.length).toBeGreaterThan(0);
        }
      }
    });
  }

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
