/**
 * The dashboards' variables. `street` reads the `street_names` lookup and `estate` the
 * `estate_names` lookup the hub writes (hub/store/facts-names.ts: one point per street with `name`
 * and `label` = `id|name`, one per estate with `street`, `name` and `label`, written when first
 * seen, when changed, and daily). The estate subquery takes each estate's latest point, so an
 * estate moved to another street moves in the lists at once. Both show the name and keep the id as
 * the value by the regex's named groups `value` and `text` (Grafana ≥ 7.4, "Filter and modify
 * using named text and value capture groups"), the same on the browser and the backend InfluxQL
 * paths: both take the one string column of the result.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import { pick, t, type Lang } from './i18n.js';

const DATASOURCE: common.DataSourceRef = { type: 'influxdb', uid: 'rb-influx' };

export const STREET_QUERY = 'SELECT "label" FROM (SELECT last("label") AS "label" FROM "raw"."street_names" GROUP BY "street")';
export const ESTATE_QUERY =
  'SELECT "label" FROM (SELECT last("label") AS "label", last("street") AS "street" FROM "raw"."estate_names" GROUP BY "estate") WHERE "street" =~ /^$street$/';
/** `maple-court|枫林苑` → value `maple-court`, text `枫林苑` (street and estate ids never contain `|`). */
export const ESTATE_REGEX = '/^(?<value>[^|]+)\\|(?<text>.*)$/';
/** The street's `label` is `id|name` too. */
export const STREET_REGEX = ESTATE_REGEX;

/**
 * Placeholder for the hub's address in the generated JSON. Grafana does not expand environment
 * variables in dashboard JSON (only in provisioning YAML: grafana/grafana#10786), so
 * dashboards/grafana-start.sh replaces it with RB_HUB_URL when the Grafana container starts.
 */
export const HUB_URL_PLACEHOLDER = '__RB_HUB_URL__';

const all: dashboard.VariableOption = { text: 'All', value: '$__all', selected: true };

export function streetVariable(lang: Lang): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('street')
    .label(pick(t('街道', 'Street'), lang))
    .description(pick(t('小区所属街道（红管家登记）：显示名称，按编号查询', 'Street of the estates, from the Red Butler registry: names shown, ids queried'), lang))
    .datasource(DATASOURCE)
    .query(STREET_QUERY)
    .regex(STREET_REGEX)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current(all);
}

/** `multi`: several estates or All; `single`: one estate, the first by name unless the link names one. */
export function estateVariable(mode: 'multi' | 'single', lang: Lang): dashboard.QueryVariableBuilder {
  const v = new dashboard.QueryVariableBuilder('estate')
    .label(pick(t('小区', 'Estate'), lang))
    .description(pick(t('所选街道的小区：显示名称，按编号查询', 'Estates of the chosen streets: names shown, ids queried'), lang))
    .datasource(DATASOURCE)
    .query(ESTATE_QUERY)
    .regex(ESTATE_REGEX)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  return mode === 'multi' ? v.multi(true).includeAll(true).current(all) : v.multi(false).includeAll(false);
}

export function hubUrlVariable(lang: Lang): dashboard.ConstantVariableBuilder {
  return new dashboard.ConstantVariableBuilder('hub_url')
    .label(pick(t('红管家地址', 'Red Butler hub address'), lang))
    .description(pick(t('链接到红管家小区页面；容器启动时由 RB_HUB_URL 填入', "For links to the hub's estate screen; RB_HUB_URL, filled in when the container starts"), lang))
    .value(HUB_URL_PLACEHOLDER);
}
