import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALL_DASHBOARDS, DATASOURCE_UID, generateFiles, LANGS, uidFor } from '../../dashboards/src/index.js';
import { EVENT_TYPES as EVENT_NAMES, RULES } from '../../dashboards/src/i18n.js';
import { HUB_URL_PLACEHOLDER } from '../../dashboards/src/variables.js';
import { EVENT_TYPES } from '../../protocol/index.js';
import { RULE_NAMES } from '../../hub/alerts/settings.js';

const root = join(import.meta.dirname, '..', '..', 'dashboards');

interface Panel {
  id: number;
  type: string;
  title: string;
  description: string;
  fieldConfig: { overrides: Array<{ properties: Array<{ id: string; value: unknown }> }> };
  datasource?: { uid?: string; type?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ refId: string; query: string; rawQuery: boolean; datasource?: { uid?: string } }>;
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  description: string;
  tags: string[];
  links: Array<{ type: string; url?: string; tags?: string[] }>;
  templating: { list: Array<{ name: string; type: string; query: string; multi?: boolean; regex?: string; datasource?: { uid?: string } }> };
  time: { from: string; to: string };
}

function committedDashboards(lang?: string): Dashboard[] {
  return (lang ? [lang] : LANGS).flatMap((l) =>
    readdirSync(join(root, 'json', l))
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(root, 'json', l, f), 'utf8')) as Dashboard),
  );
}

/** Every text a reader sees: titles, descriptions, display names, link titles, variable labels. */
function texts(d: Dashboard): string[] {
  const out = [d.title, d.description];
  for (const p of d.panels) {
    out.push(p.title, p.description);
    for (const o of p.fieldConfig.overrides) for (const prop of o.properties) if (prop.id === 'displayName') out.push(String(prop.value));
  }
  return out;
}

describe('generated dashboards', () => {
  it('the committed files are what scripts/gen-dashboards.ts writes (run npm run gen:dashboards)', () => {
    const files = generateFiles();
    for (const [path, content] of files) expect(readFileSync(join(root, path), 'utf8'), path).toBe(content);
    const json = readdirSync(join(root, 'json'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => `json/${join(e.parentPath, e.name).slice(join(root, 'json').length + 1)}`);
    expect(json.sort()).toEqual([...files.keys()].filter((p) => p.startsWith('json/')).sort());
  });

  it('has the six dashboards in Chinese (the plain uids) and in English (-en), with unique uids and unique panel ids in each', () => {
    const dashboards = committedDashboards();
    const uids = ['rb-alert-response', 'rb-device-health', 'rb-estate-detail', 'rb-gateway-health', 'rb-street-overview', 'rb-work-orders'];
    expect(committedDashboards('zh-CN').map((d) => d.uid).sort()).toEqual(uids);
    expect(committedDashboards('en').map((d) => d.uid).sort()).toEqual(uids.map((u) => `${u}-en`));
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    for (const d of dashboards) {
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, d.uid).toBe(ids.length);
      expect(ids.every((id) => Number.isInteger(id) && id > 0), d.uid).toBe(true);
    }
  });

  it('has the fields Grafana requires, and every panel and variable uses the provisioned datasource', () => {
    for (const d of committedDashboards()) {
      expect(typeof d.title).toBe('string');
      expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/); // Grafana's uid limit
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(d.time).toEqual({ from: 'now-7d', to: 'now' });
      // The work orders add a `category` (a custom variable over the fixed list) after the estate.
      const more = d.uid.startsWith('rb-work-orders') ? ['category'] : [];
      expect(d.templating.list.map((v) => v.name)).toEqual(['street', 'estate', ...more, 'hub_url']);
      for (const v of d.templating.list.slice(0, 2)) {
        expect(v.type).toBe('query');
        expect(v.datasource?.uid).toBe(DATASOURCE_UID);
      }
      expect(d.templating.list.at(-1)).toMatchObject({ type: 'constant', query: HUB_URL_PLACEHOLDER });
      expect(d.panels.length).toBeGreaterThan(0);
      for (const p of d.panels) {
        const where = `${d.uid} panel ${p.id} ${p.title}`;
        expect(typeof p.type, where).toBe('string');
        expect(p.title, where).toBeTruthy();
        expect(p.datasource?.uid, where).toBe(DATASOURCE_UID);
        expect(p.gridPos.w, where).toBeGreaterThan(0);
        expect(p.gridPos.x + p.gridPos.w, where).toBeLessThanOrEqual(24);
        expect(p.targets.length, where).toBeGreaterThan(0);
        for (const t of p.targets) {
          expect(t.datasource?.uid, where).toBe(DATASOURCE_UID);
          expect(t.rawQuery, where).toBe(true);
          expect(t.query, where).toMatch(/^SELECT /);
          expect(t.query, where).toContain('/^$estate$/');
        }
        expect(new Set(p.targets.map((t) => t.refId)).size, where).toBe(p.targets.length);
      }
    }
  });

  it('Chinese first: the zh-CN set reads in Chinese, the English set has no Chinese, and both have the same panels', () => {
    const han = /\p{Script=Han}/u;
    for (const d of committedDashboards('zh-CN')) {
      for (const text of texts(d)) expect(text, `${d.uid}: ${text}`).toMatch(han);
    }
    for (const d of committedDashboards('en')) {
      for (const text of texts(d)) expect(text, `${d.uid}: ${text}`).not.toMatch(han);
    }
    for (const spec of ALL_DASHBOARDS) {
      const [zh, en] = LANGS.map((l) => committedDashboards(l).find((d) => d.uid === uidFor(spec.uid, l))!);
      expect(en!.panels.map((p) => [p.type, p.targets.map((t) => t.query)])).toEqual(zh!.panels.map((p) => [p.type, p.targets.map((t) => t.query)]));
    }
  });

  it('names every event type and alert rule in both languages (legends, value mappings)', () => {
    expect(Object.keys(EVENT_NAMES).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    expect(Object.keys(RULES).sort()).toEqual([...RULE_NAMES].sort());
  });

  it('links: every dashboard lists the others of its language; tables link estates to their dashboards and the hub screen', () => {
    for (const lang of LANGS) {
      for (const d of committedDashboards(lang)) {
        expect(d.tags).toContain(`rb-${lang}`);
        expect(d.links.find((l) => l.type === 'dashboards')?.tags).toEqual([`rb-${lang}`]);
        const urls = JSON.stringify(d.panels.flatMap((p) => p.fieldConfig.overrides.flatMap((o) => o.properties.filter((x) => x.id === 'links').map((x) => x.value))));
        const estate = d.templating.list.find((v) => v.name === 'estate')!;
        expect(estate.regex).toBe('/^(?<value>[^|]+)\\|(?<text>.*)$/');
        if (['rb-estate-detail', 'rb-device-health'].includes(d.uid.replace(/-en$/, ''))) {
          expect(estate.multi).toBe(false);
          expect(d.links.map((l) => l.url)).toContain('${hub_url}/estate/${estate}');
        } else {
          expect(estate.multi).toBe(true);
        }
        if (d.uid.startsWith('rb-street-overview')) {
          expect(urls).toContain(`/d/${uidFor('rb-estate-detail', lang)}?var-estate=\${__data.fields.estate}`);
          expect(urls).toContain('${hub_url}/estate/${__data.fields.estate}');
        }
      }
    }
  });

  it('provisions the InfluxDB datasource with the fixed uid and a file dashboard provider', () => {
    const ds = parse(readFileSync(join(root, 'provisioning/datasources/influxdb.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; url: string; jsonData: { dbName: string } }>;
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    expect(ds.datasources[0]).toMatchObject({ uid: DATASOURCE_UID, type: 'influxdb', url: '$RB_GRAFANA_INFLUX_URL', jsonData: { dbName: '$RB_INFLUX_DB' } });
    const prov = parse(readFileSync(join(root, 'provisioning/dashboards/red-butler.yaml'), 'utf8')) as {
      providers: Array<{ type: string; folder: string; options: { path: string } }>;
    };
    expect(prov.providers).toHaveLength(2);
    expect(prov.providers[0]).toMatchObject({ type: 'file', folder: '红管家', options: { path: '/var/lib/grafana/dashboards/red-butler/zh-CN' } });
    expect(prov.providers[1]).toMatchObject({ type: 'file', folder: 'Red Butler (English)', options: { path: '/var/lib/grafana/dashboards/red-butler/en' } });
  });
});
