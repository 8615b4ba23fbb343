/**
 * Small layer over @grafana/grafana-foundation-sdk: the SDK has typed builders for dashboards,
 * variables and panels but (0.0.21) no InfluxDB query type, so InfluxQL targets are built here.
 * Every panel and variable uses the provisioned datasource `rb-influx`; panel ids and grid positions
 * are assigned in order, so a dashboard is a list of panel specs.
 */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const DATASOURCE_UID = 'rb-influx';
export const DATASOURCE: common.DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID };

/** An InfluxQL target in raw mode, as Grafana's InfluxDB datasource stores it. */
export interface InfluxTarget extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

class InfluxQueryBuilder implements cog.Builder<cog.Dataquery> {
  constructor(private readonly target: Omit<InfluxTarget, '_implementsDataqueryVariant'>) {}
  build(): cog.Dataquery {
    // The SDK marks dataquery variants with a method; JSON.stringify leaves it out.
    return { ...this.target, _implementsDataqueryVariant: () => undefined } as InfluxTarget;
  }
}

export interface QuerySpec {
  /** InfluxQL with Grafana's macros: $timeFilter, $__interval, $estate, $street. */
  q: string;
  /** Series name pattern ($tag_estate, $col). */
  alias?: string;
  format?: 'time_series' | 'table';
}

export type PanelKind = 'timeseries' | 'stat' | 'table' | 'barchart' | 'state-timeline';

export interface PanelSpec {
  kind: PanelKind;
  title: string;
  description: string;
  queries: QuerySpec[];
  unit?: string;
  /** Width in grid columns (24 per row) and height in rows; defaults 12 x 8 (stat: 6 x 4). */
  w?: number;
  h?: number;
  /** Minimum interval ($__interval is at least this). */
  interval?: string;
  transformations?: dashboard.DataTransformerConfig[];
  stacked?: boolean;
}

type AnyPanelBuilder = timeseries.PanelBuilder | stat.PanelBuilder | table.PanelBuilder | barchart.PanelBuilder | statetimeline.PanelBuilder;

function panelBuilder(spec: PanelSpec): AnyPanelBuilder {
  switch (spec.kind) {
    case 'timeseries': {
      const p = new timeseries.PanelBuilder().fillOpacity(10).showPoints(common.VisibilityMode.Never);
      if (spec.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
      return p;
    }
    case 'stat':
      return new stat.PanelBuilder()
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
    case 'table':
      return new table.PanelBuilder();
    case 'barchart':
      return new barchart.PanelBuilder().xTickLabelRotation(0);
    case 'state-timeline':
      return new statetimeline.PanelBuilder().showValue(common.VisibilityMode.Never);
  }
}

/** Street and estate, chained: the estate list narrows to the chosen streets (docs/storage.md, Facts). */
export function variables(): Array<cog.Builder<dashboard.VariableModel>> {
  const all: dashboard.VariableOption = { text: 'All', value: '$__all', selected: true };
  return [
    new dashboard.QueryVariableBuilder('street')
      .label('Street')
      .description('Street (街道) of the estates; from the hub registry, written with every gateway status')
      .datasource(DATASOURCE)
      .query('SHOW TAG VALUES FROM "raw"."gateway_status" WITH KEY = "street"')
      .refresh(dashboard.VariableRefresh.OnDashboardLoad)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .current(all),
    new dashboard.QueryVariableBuilder('estate')
      .label('Estate')
      .description('Estates of the chosen streets')
      .datasource(DATASOURCE)
      .query('SHOW TAG VALUES FROM "raw"."gateway_status" WITH KEY = "estate" WHERE "street" =~ /^$street$/')
      .refresh(dashboard.VariableRefresh.OnDashboardLoad)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .current(all),
  ];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Default time range, e.g. `now-7d`. */
  from: string;
  panels: PanelSpec[];
}

/** The dashboard as Grafana's JSON model (what the file provider loads). */
export function buildDashboard(spec: DashboardSpec): dashboard.Dashboard {
  const b = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['red-butler'])
    .editable()
    .timezone('browser')
    .refresh('1m')
    .time({ from: spec.from, to: 'now' })
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
  for (const v of variables()) b.withVariable(v);
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  spec.panels.forEach((p, i) => {
    const w = p.w ?? (p.kind === 'stat' ? 6 : 12);
    const h = p.h ?? (p.kind === 'stat' ? 4 : 8);
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel = panelBuilder(p).id(i + 1).title(p.title).description(p.description).datasource(DATASOURCE).gridPos({ x, y, w, h });
    if (p.unit) panel.unit(p.unit);
    if (p.interval) panel.interval(p.interval);
    for (const t of p.transformations ?? []) panel.withTransformation(t);
    p.queries.forEach((q, n) => {
      const target: Omit<InfluxTarget, '_implementsDataqueryVariant'> = {
        refId: String.fromCharCode(65 + n),
        datasource: DATASOURCE,
        query: q.q,
        rawQuery: true,
        resultFormat: q.format ?? (p.kind === 'table' ? 'table' : 'time_series'),
        ...(q.alias ? { alias: q.alias } : {}),
      };
      panel.withTarget(new InfluxQueryBuilder(target));
    });
    b.withPanel(panel);
    x += w;
    rowHeight = Math.max(rowHeight, h);
  });
  return b.build();
}
