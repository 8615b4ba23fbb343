import type { DashboardSpec, PanelSpec } from './builders.js';

/**
 * The street property-service center's dashboards. Every query reads the InfluxDB schema of
 * docs/storage.md: `raw.events` (one point per event), `hourly.events_hourly` (the CQ's counts) and
 * the facts `raw.gateway_status`, `raw.alerts`, `raw.device_availability`. `$estate` narrows to the
 * estates of the chosen `$street`s (a chained variable), so every panel filters by estate only.
 */
const E = `"estate" =~ /^$estate$/`;
const EVENTS = '"raw"."events"';

const eventsWhere = (type: string): string => `WHERE ${E} AND "type" ${type} AND $timeFilter`;

const streetOverview: DashboardSpec = {
  uid: 'rb-street-overview',
  title: 'Red Butler · Street overview',
  description: 'Estates of the street: gateways online, open alerts, events per hour by type',
  from: 'now-7d',
  panels: [
    stat('Estates', 'Estates with a gateway status in the range', `SELECT count("online") FROM (SELECT last("online") AS "online" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate")`),
    stat('Gateways online', 'Gateways whose last status or connection in the range says online', `SELECT sum("online") FROM (SELECT last("online") AS "online" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate", "gateway")`),
    stat('Open alerts', 'Opened minus resolved over the raw retention (30 days): alerts open now', `SELECT sum("open_delta") FROM "raw"."alerts" WHERE ${E} AND time >= now() - 30d`),
    stat('Events', 'Events in the range (hourly roll-up)', `SELECT sum("events") FROM "hourly"."events_hourly" WHERE ${E} AND $timeFilter`),
    {
      kind: 'timeseries',
      title: 'Events per hour by type',
      description: 'From the hourly roll-up (cq_events_hourly)',
      w: 24,
      stacked: true,
      queries: [{ q: `SELECT sum("events") FROM "hourly"."events_hourly" WHERE ${E} AND $timeFilter GROUP BY time(1h), "type" fill(0)`, alias: '$tag_type' }],
    },
    {
      kind: 'table',
      title: 'Events by estate',
      description: 'Events in the range per estate (hourly roll-up)',
      queries: [{ q: `SELECT sum("events") AS "events" FROM "hourly"."events_hourly" WHERE ${E} AND $timeFilter GROUP BY "estate"` }],
    },
    {
      kind: 'barchart',
      title: 'Open alerts by estate',
      description: 'Opened minus resolved over the raw retention',
      queries: [{ q: `SELECT sum("open_delta") AS "open" FROM "raw"."alerts" WHERE ${E} AND time >= now() - 30d GROUP BY "estate"`, format: 'table' }],
    },
  ],
};

const estateDetail: DashboardSpec = {
  uid: 'rb-estate-detail',
  title: 'Red Butler · Estate detail',
  description: 'Entries, door alarms, vehicles and occupancy, camera health of the chosen estates',
  from: 'now-7d',
  panels: [
    {
      kind: 'timeseries',
      title: 'Entries by hour',
      description: 'access.granted events per hour',
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere(`= 'access.granted'`)} GROUP BY time(1h), "estate" fill(0)`, alias: '$tag_estate' }],
    },
    {
      kind: 'timeseries',
      title: 'Door alarms',
      description: 'door.forced and door.held events',
      interval: '1h',
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere('=~ /^door\\.(forced|held)$/')} GROUP BY time($__interval), "estate", "type" fill(none)`, alias: '$tag_estate $tag_type' }],
    },
    {
      kind: 'timeseries',
      title: 'Vehicles in / out per hour',
      description: 'vehicle.entered and vehicle.exited events',
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere('=~ /^vehicle\\.(entered|exited)$/')} GROUP BY time(1h), "type" fill(0)`, alias: '$tag_type' }],
    },
    {
      kind: 'timeseries',
      title: 'Vehicle occupancy',
      description: 'Vehicles in minus vehicles out since the start of the range (the live count is on the estate screen)',
      queries: [
        { q: `SELECT cumulative_sum(count("id")) FROM ${EVENTS} ${eventsWhere(`= 'vehicle.entered'`)} GROUP BY time(1h) fill(0)`, alias: 'in' },
        { q: `SELECT cumulative_sum(count("id")) FROM ${EVENTS} ${eventsWhere(`= 'vehicle.exited'`)} GROUP BY time(1h) fill(0)`, alias: 'out' },
      ],
      transformations: [
        { id: 'joinByField', options: { byField: 'Time', mode: 'outer' } },
        { id: 'calculateField', options: { mode: 'binary', binary: { left: 'in', operator: '-', right: 'out' }, alias: 'occupancy', replaceFields: true } },
      ],
    },
    {
      kind: 'table',
      title: 'Camera health',
      description: 'Camera motion, tamper and signal-loss events per camera',
      queries: [{ q: `SELECT count("id") AS "events" FROM ${EVENTS} ${eventsWhere('=~ /^camera\\./')} GROUP BY "estate", "device", "type"` }],
    },
    {
      kind: 'timeseries',
      title: 'Access denied per hour',
      description: 'access.denied events',
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere(`= 'access.denied'`)} GROUP BY time(1h), "estate" fill(0)`, alias: '$tag_estate' }],
    },
  ],
};

const deviceHealth: DashboardSpec = {
  uid: 'rb-device-health',
  title: 'Red Butler · Device health',
  description: 'Offline time, flapping doors and tamper per device',
  from: 'now-7d',
  panels: [
    {
      kind: 'table',
      title: 'Offline time per device',
      description: 'Minutes offline: device.offline to the next device.online (device_availability.offline_s)',
      unit: 'm',
      queries: [{ q: `SELECT sum("offline_s") / 60 AS "offline_min", count("offline_s") AS "episodes" FROM "raw"."device_availability" WHERE ${E} AND $timeFilter GROUP BY "estate", "device"` }],
    },
    {
      kind: 'state-timeline',
      title: 'Device availability',
      description: '1 online, 0 offline (device.online / device.offline events)',
      queries: [{ q: `SELECT last("online") FROM "raw"."device_availability" WHERE ${E} AND $timeFilter GROUP BY time($__interval), "estate", "device" fill(previous)`, alias: '$tag_estate/$tag_device' }],
    },
    {
      kind: 'table',
      title: 'Flapping doors',
      description: 'door.opened + door.closed events per device; a high count is a door that does not stay shut',
      queries: [{ q: `SELECT count("id") AS "changes" FROM ${EVENTS} ${eventsWhere('=~ /^door\\.(opened|closed)$/')} GROUP BY "estate", "device"` }],
    },
    {
      kind: 'timeseries',
      title: 'Tamper',
      description: 'device.tamper and camera.tamper events',
      interval: '1h',
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere('=~ /^(device|camera)\\.tamper$/')} GROUP BY time($__interval), "estate", "device" fill(none)`, alias: '$tag_estate/$tag_device' }],
    },
  ],
};

const alertResponse: DashboardSpec = {
  uid: 'rb-alert-response',
  title: 'Red Butler · Alert response',
  description: 'Time to acknowledge and to resolve by estate and severity; escalations',
  from: 'now-7d',
  panels: [
    ackTable('Time to acknowledge by estate', '"estate"'),
    ackTable('Time to acknowledge by severity', '"severity"'),
    {
      kind: 'table',
      title: 'Time to resolve by estate and severity',
      description: 'Seconds from opened to resolved',
      unit: 's',
      w: 24,
      queries: [{ q: `SELECT mean("resolve_s") AS "mean", percentile("resolve_s", 90) AS "p90", count("resolve_s") AS "alerts" FROM "raw"."alerts" WHERE ${E} AND "transition" = 'resolved' AND $timeFilter GROUP BY "estate", "severity"` }],
    },
    {
      kind: 'timeseries',
      title: 'Median time to acknowledge per day',
      description: 'By severity (1 low … 4 critical)',
      unit: 's',
      queries: [{ q: `SELECT median("ack_s") FROM "raw"."alerts" WHERE ${E} AND "transition" = 'acknowledged' AND $timeFilter GROUP BY time(1d), "severity" fill(none)`, alias: 'severity $tag_severity' }],
    },
    {
      kind: 'timeseries',
      title: 'Escalations per day',
      description: 'Alerts that reached the next level of the escalation chain',
      queries: [{ q: `SELECT count("alert_id") FROM "raw"."alerts" WHERE ${E} AND "transition" = 'escalated' AND $timeFilter GROUP BY time(1d), "estate" fill(0)`, alias: '$tag_estate' }],
    },
    {
      kind: 'timeseries',
      title: 'Alerts opened per day by rule',
      description: 'New alerts (repeats of an open alert are not counted)',
      stacked: true,
      queries: [{ q: `SELECT count("alert_id") FROM "raw"."alerts" WHERE ${E} AND "transition" = 'opened' AND $timeFilter GROUP BY time(1d), "rule" fill(0)`, alias: '$tag_rule' }],
    },
  ],
};

const gatewayHealth: DashboardSpec = {
  uid: 'rb-gateway-health',
  title: 'Red Butler · Gateway health',
  description: 'Gateways online, outbox depth, drops and reconnects (gateway_status facts)',
  from: 'now-7d',
  panels: [
    {
      kind: 'state-timeline',
      title: 'Gateway online',
      description: '1 online, 0 offline: status messages, LWT and MQTT connection changes',
      w: 24,
      queries: [{ q: `SELECT last("online") FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY time($__interval), "estate", "gateway" fill(previous)`, alias: '$tag_estate/$tag_gateway' }],
    },
    gatewaySeries('Outbox depth', 'Events waiting in the gateway outbox for the hub', 'max("outbox_depth")'),
    gatewaySeries('Alarms waiting', 'Alarm-class events waiting in the outbox (never dropped)', 'max("outbox_alarms")'),
    gatewaySeries('Dropped events', 'Routine events dropped at the outbox caps, per interval', 'non_negative_difference(max("dropped_total"))'),
    gatewaySeries('Reconnects', 'MQTT connections lost since the gateway started', 'max("reconnects")'),
    {
      kind: 'table',
      title: 'Gateways',
      description: 'Last reported uptime, reconnects and outbox depth',
      w: 24,
      queries: [{ q: `SELECT last("uptime_s") AS "uptime_s", last("reconnects") AS "reconnects", last("outbox_depth") AS "outbox_depth", last("dropped_total") AS "dropped_total" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate", "gateway"` }],
    },
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [streetOverview, estateDetail, deviceHealth, alertResponse, gatewayHealth];

function stat(title: string, description: string, q: string): PanelSpec {
  return { kind: 'stat', title, description, queries: [{ q }] };
}

function ackTable(title: string, by: string): PanelSpec {
  return {
    kind: 'table',
    title,
    description: 'Seconds from opened to acknowledged: mean, 90th percentile, alerts',
    unit: 's',
    queries: [{ q: `SELECT mean("ack_s") AS "mean", percentile("ack_s", 90) AS "p90", count("ack_s") AS "alerts" FROM "raw"."alerts" WHERE ${E} AND "transition" = 'acknowledged' AND $timeFilter GROUP BY ${by}` }],
  };
}

function gatewaySeries(title: string, description: string, select: string): PanelSpec {
  return {
    kind: 'timeseries',
    title,
    description,
    queries: [{ q: `SELECT ${select} FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY time($__interval), "estate", "gateway" fill(none)`, alias: '$tag_estate/$tag_gateway' }],
  };
}
