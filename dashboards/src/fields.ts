/**
 * Field config as Grafana's JSON model (fieldConfig.defaults and overrides): display names, units,
 * thresholds, value mappings and data links. Written here rather than through the SDK's
 * per-panel-type builders so one spec serves every panel type alike.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { pick, type Lang, type Text } from './i18n.js';

/** Colour steps: the first has no lower bound (`value: null`). */
export type Steps = ReadonlyArray<{ value: number | null; color: string }>;

/** Raw value → display text (and colour). */
export type ValueMap = Record<string, { text: Text; color?: string }>;

export interface LinkSpec {
  title: Text;
  /**
   * Grafana link URL: `${hub_url}`, `${estate}`, `${__data.fields.estate}`, `${__url_time_range}`
   * as Grafana interpolates them; `{uid:rb-estate-detail}` is the path of that dashboard in the
   * same language (`/d/rb-estate-detail` or `/d/rb-estate-detail-en`).
   */
  url: string;
  /** Open in a new tab (the hub's screens). */
  blank?: boolean;
}

export interface ColumnSpec {
  title?: Text;
  unit?: string;
  decimals?: number;
  /** Shown where the value is missing (an estate with no row in that query). */
  noValue?: string;
  /** Kept in the data (links read it) but not shown. */
  hidden?: boolean;
  width?: number;
  mappings?: ValueMap;
  /** Colour steps; the cell background takes the colour. */
  thresholds?: Steps;
  links?: LinkSpec[];
}

/** The uid of a dashboard in a language: the Chinese set keeps the plain uids. */
export function uidFor(uid: string, lang: Lang): string {
  return lang === 'zh-CN' ? uid : `${uid}-en`;
}

/** A link URL with `{uid:…}` resolved to the dashboard path in that language; a bare `{uid:…}` is the uid. */
export function resolveUrl(url: string, lang: Lang): string {
  if (/^\{uid:[a-z0-9-]+\}$/.test(url)) return uidFor(url.slice(5, -1), lang);
  return url.replace(/\{uid:([a-z0-9-]+)\}/g, (_, uid: string) => `/d/${uidFor(uid, lang)}`);
}

const thresholds = (steps: Steps): object => ({ mode: 'absolute', steps: steps.map((s) => ({ color: s.color, value: s.value })) });

function mappings(map: ValueMap, lang: Lang): object[] {
  const options: Record<string, object> = {};
  Object.entries(map).forEach(([value, m], index) => {
    options[value] = { text: pick(m.text, lang), ...(m.color ? { color: m.color } : {}), index };
  });
  return [{ type: 'value', options }];
}

const links = (list: readonly LinkSpec[], lang: Lang): object[] =>
  list.map((l) => ({ title: pick(l.title, lang), url: resolveUrl(l.url, lang), ...(l.blank ? { targetBlank: true } : {}) }));

interface FieldSource {
  kind: string;
  unit?: string;
  noValue?: string;
  thresholds?: Steps;
  mappings?: ValueMap;
  legend?: Record<string, Text>;
  columns?: Record<string, ColumnSpec>;
}

type Property = { id: string; value: unknown };

function columnProperties(c: ColumnSpec, lang: Lang): Property[] {
  const props: Property[] = [];
  if (c.title) props.push({ id: 'displayName', value: pick(c.title, lang) });
  if (c.unit) props.push({ id: 'unit', value: c.unit });
  if (c.decimals !== undefined) props.push({ id: 'decimals', value: c.decimals });
  if (c.noValue !== undefined) props.push({ id: 'noValue', value: c.noValue });
  if (c.hidden) props.push({ id: 'custom.hidden', value: true });
  if (c.width) props.push({ id: 'custom.width', value: c.width });
  if (c.mappings) props.push({ id: 'mappings', value: mappings(c.mappings, lang) });
  if (c.thresholds) {
    props.push({ id: 'thresholds', value: thresholds(c.thresholds) }, { id: 'color', value: { mode: 'thresholds' } });
    props.push({ id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } });
  } else if (c.mappings && Object.values(c.mappings).some((m) => m.color)) {
    props.push({ id: 'custom.cellOptions', value: { type: 'color-text' } });
  }
  if (c.links) props.push({ id: 'links', value: links(c.links, lang) });
  return props;
}

/** The panel's fieldConfig: the SDK's defaults plus the spec's units, colours, names and links. */
export function fieldConfig(base: dashboard.FieldConfigSource | undefined, p: FieldSource, lang: Lang): dashboard.FieldConfigSource {
  const defaults: Record<string, unknown> = { ...(base?.defaults ?? {}) };
  const custom: Record<string, unknown> = { ...((defaults.custom as Record<string, unknown> | undefined) ?? {}) };
  if (p.unit) defaults.unit = p.unit;
  if (p.noValue !== undefined) defaults.noValue = p.noValue;
  if (p.thresholds) {
    defaults.thresholds = thresholds(p.thresholds);
    defaults.color = { mode: 'thresholds' };
    // A time series keeps its palette colours and shows the steps as lines and shaded bands.
    if (p.kind === 'timeseries') {
      defaults.color = { mode: 'palette-classic' };
      custom.thresholdsStyle = { mode: 'line+area' };
    }
  }
  if (p.mappings) defaults.mappings = mappings(p.mappings, lang);
  if (Object.keys(custom).length > 0) defaults.custom = custom;
  const overrides: Array<{ matcher: { id: string; options: string }; properties: Property[] }> = [...((base?.overrides as never[] | undefined) ?? [])];
  for (const [name, text] of Object.entries(p.legend ?? {})) {
    overrides.push({ matcher: { id: 'byName', options: name }, properties: [{ id: 'displayName', value: pick(text, lang) }] });
  }
  for (const [name, c] of Object.entries(p.columns ?? {})) {
    const properties = columnProperties(c, lang);
    if (properties.length === 0) continue;
    overrides.push({ matcher: name === '$time' ? { id: 'byType', options: 'time' } : { id: 'byName', options: name }, properties });
  }
  return { ...base, defaults, overrides } as dashboard.FieldConfigSource;
}
