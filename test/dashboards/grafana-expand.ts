/**
 * InfluxQL as Grafana's InfluxDB datasource sends it (raw query mode). Grafana's backend
 * (pkg/tsdb/influxdb/influxql/models/query.go, `Query.Build`) replaces, in this order:
 * `$timeFilter` -> `time >= {from}ms and time <= {to}ms`, `$interval` and `$__interval` -> the
 * interval text (gtime.FormatInterval: `10m`, `1h`, `1d`...), `$__interval_ms` -> ms. The browser
 * (public/app/plugins/datasource/influxdb) renders a relative range as `time >= now() - 7d`.
 * Template variables are interpolated before that: a multi-value or All variable in a regex becomes
 * `(a|b)` with regex characters escaped (`interpolateQueryExpr`), so `/^$estate$/` is `/^(a|b)$/`.
 */
export type TimeRange = { kind: 'absolute'; from: number; to: number } | { kind: 'relative'; from: string };

export function timeFilter(range: TimeRange): string {
  if (range.kind === 'relative') {
    const m = /^now-(\d+)([smhdw])$/.exec(range.from);
    if (!m) throw new Error(`unsupported relative range ${range.from}`);
    return `time >= now() - ${m[1]}${m[2]}`;
  }
  return `time >= ${Math.trunc(range.from)}ms and time <= ${Math.trunc(range.to)}ms`;
}

const escapeRegex = (v: string): string => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

/** A variable's value in a query: one value as it is; several (or All) as a regex group. */
export function variableValue(values: readonly string[]): string {
  if (values.length === 1) return escapeRegex(values[0]!);
  return `(${values.map(escapeRegex).join('|')})`;
}

/** Grafana's kbn.round_interval: the panel interval from range / max data points, rounded. */
export function roundInterval(ms: number): number {
  const steps: Array<[number, number]> = [
    [15, 10], [35, 20], [75, 50], [150, 100], [250, 200], [350, 300], [750, 500], [1500, 1000],
    [3500, 2000], [7500, 5000], [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000],
    [90000, 60000], [150000, 120000], [450000, 300000], [750000, 600000], [1050000, 900000],
    [1500000, 1200000], [2700000, 1800000], [5400000, 3600000], [9000000, 7200000], [16200000, 10800000],
    [32400000, 21600000], [86400000, 43200000], [604800000, 86400000],
  ];
  for (const [below, value] of steps) if (ms < below) return value;
  return 604800000;
}

/** gtime.FormatInterval. */
export function formatInterval(ms: number): string {
  for (const [unit, size] of [['w', 604800000], ['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000]] as const) {
    if (unit === 'w') continue; // FormatInterval goes up to days
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** max(panel min interval or the datasource's timeInterval, rounded range / maxDataPoints). */
export function panelInterval(rangeMs: number, minInterval: string | undefined, maxDataPoints = 1000): string {
  const min = parseDuration(minInterval ?? '10s');
  return formatInterval(Math.max(min, roundInterval(rangeMs / maxDataPoints)));
}

function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`bad interval ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

export interface Expansion {
  range: TimeRange;
  interval: string;
  variables: Record<string, readonly string[]>;
}

export function expand(query: string, x: Expansion): string {
  let q = query;
  // Template variables first (the frontend's templateSrv.replace), longest name first.
  for (const name of Object.keys(x.variables).sort((a, b) => b.length - a.length)) {
    q = q.replaceAll(`$${name}`, variableValue(x.variables[name]!));
  }
  q = q.replaceAll('$timeFilter', timeFilter(x.range));
  q = q.replaceAll('$interval', x.interval);
  q = q.replaceAll('$__interval_ms', String(parseDuration(x.interval)));
  q = q.replaceAll('$__interval', x.interval);
  return q;
}
