/**
 * What Grafana does with an InfluxQL answer in a table panel, for the parts the dashboards use:
 * the InfluxDB datasource's table format (public/app/plugins/datasource/influxdb/influx_series.ts
 * `getTable`: a `Time` column, the series' tags as columns, then the selected columns), and the
 * transformations `organize` (excludeByName), `merge`
 * (packages/grafana-data/src/transformations/transformers/merge.ts: the columns every frame has are
 * the key; a row joins the first row of its key whose values it does not contradict) and
 * `filterByValue` (isNull / isNotNull, include / exclude, any / all).
 */
export type Row = Record<string, unknown>;
export interface Frame {
  fields: string[];
  rows: Row[];
}
export type Series = { name?: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] };

export function tableFrame(series: Series[]): Frame {
  const tagKeys = Object.keys(series[0]?.tags ?? {});
  const valueColumns = series[0]?.columns.filter((c) => c !== 'time') ?? [];
  const rows = series.flatMap((s) =>
    s.values.map((v) => {
      const row: Row = { Time: v[0] };
      for (const k of tagKeys) row[k] = s.tags?.[k];
      s.columns.forEach((c, i) => {
        if (c !== 'time') row[c] = v[i];
      });
      return row;
    }),
  );
  return { fields: ['Time', ...tagKeys, ...valueColumns], rows };
}

interface Transformation {
  id: string;
  options: Record<string, unknown>;
}

function organize(frames: Frame[], options: { excludeByName?: Record<string, boolean> }): Frame[] {
  const excluded = new Set(Object.entries(options.excludeByName ?? {}).filter(([, v]) => v).map(([k]) => k));
  return frames.map((f) => ({
    fields: f.fields.filter((n) => !excluded.has(n)),
    rows: f.rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !excluded.has(k)))),
  }));
}

function merge(frames: Frame[]): Frame[] {
  const data = frames.filter((f) => f.fields.length > 0);
  if (data.length <= 1) return frames;
  const fields = [...new Set(data.flatMap((f) => f.fields))];
  const key = fields.filter((n) => data.every((f) => f.fields.includes(n)));
  if (key.length === 0) return frames;
  const byKey = new Map<string, Row[]>();
  const order: Array<{ key: string; index: number }> = [];
  for (const f of data) {
    for (const row of f.rows) {
      const k = key.map((n) => String(row[n])).join('');
      const value: Row = Object.fromEntries(f.fields.map((n) => [n, row[n]]));
      const existing = byKey.get(k);
      if (!existing) {
        byKey.set(k, [value]);
        order.push({ key: k, index: 0 });
        continue;
      }
      let merged = false;
      const next = existing.map((e) => {
        const mergeable = Object.entries(value).every(([n, v]) => e[n] === undefined || e[n] === null || e[n] === v);
        if (!mergeable) return e;
        merged = true;
        return { ...e, ...value };
      });
      if (!merged) {
        next.push(value);
        order.push({ key: k, index: next.length - 1 });
      }
      byKey.set(k, next);
    }
  }
  return [{ fields, rows: order.map((p) => byKey.get(p.key)![p.index]!) }];
}

function filterByValue(frames: Frame[], options: { type: 'include' | 'exclude'; match: 'any' | 'all'; filters: Array<{ fieldName: string; config: { id: string } }> }): Frame[] {
  return frames.map((f) => {
    const filters = options.filters.filter((x) => f.fields.includes(x.fieldName));
    if (filters.length === 0) return f;
    const test = (row: Row, x: (typeof filters)[number]): boolean => {
      const v = row[x.fieldName];
      if (x.config.id === 'isNull') return v === null || v === undefined;
      if (x.config.id === 'isNotNull') return v !== null && v !== undefined;
      throw new Error(`value matcher ${x.config.id} is not emulated`);
    };
    const rows = f.rows.filter((row) => {
      const hit = options.match === 'all' ? filters.every((x) => test(row, x)) : filters.some((x) => test(row, x));
      return options.type === 'include' ? hit : !hit;
    });
    return { ...f, rows };
  });
}

export function transform(frames: Frame[], transformations: readonly Transformation[]): Frame[] {
  let out = frames;
  for (const t of transformations) {
    if (t.id === 'organize') out = organize(out, t.options);
    else if (t.id === 'merge') out = merge(out);
    else if (t.id === 'filterByValue') out = filterByValue(out, t.options as Parameters<typeof filterByValue>[1]);
    else throw new Error(`transformation ${t.id} is not emulated`);
  }
  return out;
}
