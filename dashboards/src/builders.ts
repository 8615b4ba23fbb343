/**
 * Small layer over @grafana/grafana-foundation-sdk: the SDK has typed builders for dashboards,
 * variables and panels but (0.0.21) no InfluxDB query type, so InfluxQL targets are built here.
 * Every panel and variable uses the provisioned datasource `rb-influx`; panel ids and grid positions
 * are assigned in order, so a dashboard is a list of panel specs. A spec is written once in both
 * languages (i18n.ts) and built per language; field config (names, units, thresholds, value
 * mappings, links) is written as Grafana's JSON model (fields.ts).
 */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { fieldConfig, resolveUrl, type ColumnSpec, type LinkSpec, type Steps, type ValueMap } from './fields.js';
import { pick, t, type Lang, type Text } from './i18n.js';
import { estateVariable, hubUrlVariable, streetVariable } from './variables.js';

export const DATASOURCE_UID = 'rb-influx';
export const DATASOURCE: common.DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID };
export { uidFor } from './fields.js';

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
  /** Series name pattern ($tag_estate_name, $col), or a name in each language. */
  alias?: string | Text;
  format?: 'time_series' | 'table';
}

export type PanelKind = 'timeseries' | 'stat' | 'table' | 'barchart' | 'state-timeline';

export interface PanelSpec {
  kind: PanelKind;
  title: Text;
  description: Text;
  queries: QuerySpec[];
  unit?: string;
  /** Width in grid columns (24 per row) and height in rows; defaults 12 x 8 (stat: 6 x 4). */
  w?: number;
  h?: number;
  /** Minimum interval ($__interval is at least this). */
  interval?: string;
  transformations?: dashboard.DataTransformerConfig[];
  stacked?: boolean;
  /** Colour steps for every field (stat background, time series line and area). */
  thresholds?: Steps;
  /** Value → name (and colour) for every field. */
  mappings?: ValueMap;
  /** Shown when the query returns nothing (a count of none). */
  noValue?: string;
  /** Series names by the name Grafana gives them (the alias): event types, rules, severities. */
  legend?: Record<string, Text>;
  /** Per field (table column) by name; `$time` is the time field. */
  columns?: Record<string, ColumnSpec>;
  /** Table: initial sort by a column's display name. */
  sortBy?: { column: Text; desc: boolean };
}

export interface DashboardSpec {
  uid: string;
  title: Text;
  description: Text;
  /** Default time range, e.g. `now-7d`. */
  from: string;
  /** `multi`: street overview style, several estates and All; `single`: one estate (its names and links). */
  estate: 'multi' | 'single';
  /** Links in the dashboard's top bar besides the list of the other dashboards. */
  links?: LinkSpec[];
  /** Variables after `street` and `estate` (the work orders' `category`). */
  more?: (lang: Lang) => Array<cog.Builder<dashboard.VariableModel>>;
  panels: PanelSpec[];
}

/** The tag every dashboard of one language carries; the top bar lists the dashboards by it. */
export const langTag = (lang: Lang): string => `rb-${lang}`;

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
        .colorMode(spec.thresholds ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
    case 'table':
      return new table.PanelBuilder();
    case 'barchart':
      return new barchart.PanelBuilder().xTickLabelRotation(0);
    case 'state-timeline':
      return new statetimeline.PanelBuilder().showValue(common.VisibilityMode.Never);
  }
}

/** The variables of a dashboard: street, estate (names shown, ids as values), hub_url. */
export function variables(spec: Pick<DashboardSpec, 'estate' | 'more'>, lang: Lang): Array<cog.Builder<dashboard.VariableModel>> {
  return [streetVariable(lang), estateVariable(spec.estate, lang), ...(spec.more?.(lang) ?? []), hubUrlVariable(lang)];
}

const DASHBOARDS_LINK = t('红管家看板', 'Red Butler dashboards');

/** The dashboard as Grafana's JSON model (what the file provider loads), in one language. */
export function buildDashboard(spec: DashboardSpec, lang: Lang = 'zh-CN'): dashboard.Dashboard {
  const b = new dashboard.DashboardBuilder(pick(spec.title, lang))
    .uid(resolveUrl(`{uid:${spec.uid}}`, lang))
    .description(pick(spec.description, lang))
    .tags(['red-butler', langTag(lang)])
    .editable()
    .timezone('browser')
    .refresh('1m')
    .time({ from: spec.from, to: 'now' })
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(new dashboard.DashboardLinkBuilder(pick(DASHBOARDS_LINK, lang)).type(dashboard.DashboardLinkType.Dashboards).tags([langTag(lang)]).asDropdown(true).includeVars(true).keepTime(true));
  for (const l of spec.links ?? []) {
    b.link(new dashboard.DashboardLinkBuilder(pick(l.title, lang)).type(dashboard.DashboardLinkType.Link).url(resolveUrl(l.url, lang)).targetBlank(l.blank ?? false).icon('external link'));
  }
  for (const v of variables(spec, lang)) b.withVariable(v);
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const built: dashboard.Panel[] = [];
  spec.panels.forEach((p, i) => {
    const w = p.w ?? (p.kind === 'stat' ? 6 : 12);
    const h = p.h ?? (p.kind === 'stat' ? 4 : 8);
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel = panelBuilder(p).id(i + 1).title(pick(p.title, lang)).description(pick(p.description, lang)).datasource(DATASOURCE).gridPos({ x, y, w, h });
    if (p.interval) panel.interval(p.interval);
    for (const tr of p.transformations ?? []) panel.withTransformation(tr);
    p.queries.forEach((q, n) => {
      const alias = typeof q.alias === 'object' ? pick(q.alias, lang) : q.alias;
      const target: Omit<InfluxTarget, '_implementsDataqueryVariant'> = {
        refId: String.fromCharCode(65 + n),
        datasource: DATASOURCE,
        query: q.q,
        rawQuery: true,
        resultFormat: q.format ?? (p.kind === 'table' ? 'table' : 'time_series'),
        ...(alias ? { alias } : {}),
      };
      panel.withTarget(new InfluxQueryBuilder(target));
    });
    const json = panel.build() as dashboard.Panel & { options?: Record<string, unknown> };
    json.fieldConfig = fieldConfig(json.fieldConfig, p, lang);
    if (p.sortBy) json.options = { ...json.options, sortBy: [{ displayName: pick(p.sortBy.column, lang), desc: p.sortBy.desc }] };
    built.push(json);
    x += w;
    rowHeight = Math.max(rowHeight, h);
  });
  const model = b.build();
  model.panels = built;
  // The SDK sets `placement: inControlsMenu` (a Grafana 12 option that tucks a link into a menu):
  // left out, the links show in the top bar as Grafana 10 and 11 draw them.
  for (const link of model.links ?? []) delete (link as { placement?: unknown }).placement;
  return model;
}
