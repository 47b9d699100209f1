import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { toPromQL } from '../stack/helpers/dashboards.ts';
import { findRepoFiles, readRepoFile, readYaml, repoRoot, requireTool, run } from './helpers.ts';

interface Target {
  refId: string;
  expr?: string;
  datasource?: { type: string; uid: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
  datasource?: { type: string; uid: string };
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list?: Array<{ name: string }> };
}

const dashboardFiles = findRepoFiles((name) => name.endsWith('.json')).filter((f) =>
  f.startsWith('grafana/dashboards/'),
);
const dashboards = dashboardFiles.map((file) => [file, JSON.parse(readRepoFile(file)) as Dashboard] as const);

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const variablesOf = (d: Dashboard) => (d.templating?.list ?? []).map((v) => v.name);

/** Every PromQL expression in every dashboard, with where it comes from; `promql`: its variables at "All". */
const expressions = dashboards.flatMap(([file, d]) =>
  allPanels(d.panels).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      file,
      panel: p.title,
      expr: t.expr ?? '',
      promql: toPromQL(t.expr ?? '', variablesOf(d)),
    })),
  ),
);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'scopehive-static-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('prometheus/prometheus.yml', () => {
  it('passes promtool check config', () => {
    const promtool = requireTool('promtool', 'prometheus');
    const r = run(promtool, ['check', 'config', 'prometheus/prometheus.yml']);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('scrapes every service and NATS on the ports they serve', () => {
    const config = readYaml<{
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    }>('prometheus/prometheus.yml');
    const targets = Object.fromEntries(
      config.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
    );
    expect(targets).toMatchObject({
      ingest: ['ingest:9464'],
      inference: ['inference:9464'],
      exporter: ['exporter:9464'],
      nats: ['nats-exporter:7777'],
    });
  });
});

describe('Grafana provisioning', () => {
  it('provisions the Prometheus datasource the dashboards use', () => {
    const ds = readYaml<{
      datasources: Array<{ uid: string; type: string; url: string; isDefault?: boolean }>;
    }>('grafana/provisioning/datasources/prometheus.yaml');
    const prometheus = ds.datasources.find((d) => d.uid === 'prometheus');
    expect(prometheus).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
  });

  it('loads the dashboards from where the image puts them', () => {
    const providers = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(
      'grafana/provisioning/dashboards/scopehive.yaml',
    ).providers;
    expect(providers).toHaveLength(1);
    const dockerfile = readRepoFile('grafana/Dockerfile.template');
    expect(dockerfile).toContain(`COPY dashboards/ ${providers[0].options.path}/`);
  });
});

describe('dashboards', () => {
  it('are the Microscope, Device and Hive dashboards, with distinct uids', () => {
    expect(dashboards.map(([, d]) => d.title).sort()).toEqual(['Device', 'Hive', 'Microscope']);
    expect(new Set(dashboards.map(([, d]) => d.uid)).size).toBe(dashboards.length);
  });

  it.each(dashboards)(
    '%s: every panel target has a PromQL expression on the provisioned datasource',
    (_file, d) => {
      const ids = new Set<number>();
      for (const panel of allPanels(d.panels)) {
        expect(ids.has(panel.id), `duplicate panel id ${panel.id}`).toBe(false);
        ids.add(panel.id);
        if (panel.type === 'row' || panel.type === 'text') continue;
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.expr?.trim(), `${panel.title} ${target.refId}`).toBeTruthy();
          expect(target.datasource?.uid ?? panel.datasource?.uid, panel.title).toBe('prometheus');
          // Grafana's own macros would not evaluate through Prometheus's API (the stack test does
          // that); the dashboard's template variables are "All" (`.*`) there, and nothing else is.
          expect(target.expr, panel.title).not.toMatch(/\$__/);
          expect(toPromQL(target.expr ?? '', variablesOf(d)), panel.title).not.toContain('$');
        }
      }
    },
  );

  it('every expression is valid PromQL (promtool check rules)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    const rules = {
      groups: [
        {
          name: 'dashboards',
          rules: expressions.map((e, i) => ({ record: `dashboard:expression_${i}`, expr: e.promql })),
        },
      ],
    };
    const file = path.join(tmp, 'dashboard-expressions.yml');
    writeFileSync(file, stringify(rules));
    const r = run(promtool, ['check', 'rules', file]);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('use only metrics some service of this repository defines', () => {
    const sources = [
      ...findRepoFiles((n) => n.endsWith('.ts')).filter((f) => /^(shared|services\/[^/]+)\/src\//.test(f)),
    ].map((f) => readFileSync(path.join(repoRoot, f), 'utf8'));
    const defined = (metric: string) => {
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      // Prometheus's own: scrape health, and the alerts of the rules it loads.
      if (metric === 'up') return true;
      if (metric === 'ALERTS') {
        return (readYaml<{ rule_files?: string[] }>('prometheus/prometheus.yml').rule_files ?? []).length > 0;
      }
      // Process metrics come from prom-client's default collectors under their standard names.
      if (/^(process|nodejs)_/.test(metric)) {
        return sources.some((s) => s.includes('collectDefaultMetrics(') && !s.includes('prefix:'));
      }
      return sources.some((s) => s.includes(`'${base}'`));
    };
    const keywords = new Set([
      'sum',
      'max',
      'min',
      'avg',
      'by',
      'rate',
      'increase',
      'histogram_quantile',
      'le',
    ]);
    const missing = new Set<string>();
    for (const { promql: expr, file, panel } of expressions) {
      const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\bby\s*\([^)]*\)/g, '');
      for (const name of withoutLabels.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
        if (keywords.has(name)) continue;
        if (!defined(name)) missing.add(`${name} (${file}: ${panel})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
