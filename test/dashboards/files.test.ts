import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DATASOURCE_UID, generateFiles } from '../../dashboards/src/index.js';

const root = join(import.meta.dirname, '..', '..', 'dashboards');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string; type?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ refId: string; query: string; rawQuery: boolean; datasource?: { uid?: string } }>;
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string; datasource?: { uid?: string } }> };
  time: { from: string; to: string };
}

function committedDashboards(): Dashboard[] {
  return readdirSync(join(root, 'json'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(root, 'json', f), 'utf8')) as Dashboard);
}

describe('generated dashboards', () => {
  it('the committed files are what scripts/gen-dashboards.ts writes (run npm run gen:dashboards)', () => {
    const files = generateFiles();
    for (const [path, content] of files) expect(readFileSync(join(root, path), 'utf8'), path).toBe(content);
    const json = readdirSync(join(root, 'json')).map((f) => `json/${f}`);
    expect(json.sort()).toEqual([...files.keys()].filter((p) => p.startsWith('json/')).sort());
  });

  it('has the five dashboards, with unique uids and unique panel ids in each', () => {
    const dashboards = committedDashboards();
    expect(dashboards.map((d) => d.uid).sort()).toEqual(['rb-alert-response', 'rb-device-health', 'rb-estate-detail', 'rb-gateway-health', 'rb-street-overview']);
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
      expect(d.templating.list.map((v) => v.name)).toEqual(['street', 'estate']);
      for (const v of d.templating.list) {
        expect(v.type).toBe('query');
        expect(v.datasource?.uid).toBe(DATASOURCE_UID);
      }
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

  it('provisions the InfluxDB datasource with the fixed uid and a file dashboard provider', () => {
    const ds = parse(readFileSync(join(root, 'provisioning/datasources/influxdb.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; url: string; jsonData: { dbName: string } }>;
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    expect(ds.datasources[0]).toMatchObject({ uid: DATASOURCE_UID, type: 'influxdb', url: '$RB_GRAFANA_INFLUX_URL', jsonData: { dbName: '$RB_INFLUX_DB' } });
    const prov = parse(readFileSync(join(root, 'provisioning/dashboards/red-butler.yaml'), 'utf8')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(prov.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/red-butler' } });
  });
});
