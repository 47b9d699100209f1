/**
 * What the dashboards show and how (issue 12, item 6): lengths in Grafana's metre unit (its `m` is
 * minutes), `node` and `model` variables on every dashboard that every query honours where its
 * metric has the label, panel colours that turn exactly where the alerts fire, the firing alerts
 * listed, and a latest image that is fetched again at every refresh.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRepoFiles, readRepoFile, readYaml, repoRoot } from './helpers.ts';

interface Threshold {
  color: string;
  value: number | null;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Array<{ refId: string; expr?: string }>;
  panels?: Panel[];
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps: Threshold[] } } };
  options?: { content?: string; yAxis?: { unit?: string } };
}

interface Variable {
  name: string;
  type: string;
  datasource?: { uid: string };
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
}

interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: { list?: Variable[] };
}

const files = findRepoFiles((n) => n.endsWith('.json')).filter((f) => f.startsWith('grafana/dashboards/'));
const dashboards = files.map((f) => [path.basename(f), JSON.parse(readRepoFile(f)) as Dashboard] as const);
const dashboard = (file: string) => dashboards.find(([f]) => f === file)?.[1] as Dashboard;

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const sources = findRepoFiles((n) => n.endsWith('.ts'))
  .filter((f) => /^(shared|services\/[^/]+)\/src\//.test(f))
  .map((f) => readFileSync(path.join(repoRoot, f), 'utf8'));

/**
 * The label names a metric is defined with in the services' source: the first list of names
 * between its quoted name and the end of its definition (`registers`, a helper's callback `=>`, or
 * the next metric's name). Fails when the metric is defined nowhere.
 */
function labelsOf(metric: string): Set<string> {
  // prom-client's process metrics: no labels of their own.
  if (/^(process|nodejs)_/.test(metric)) return new Set();
  for (const source of sources) {
    const at = source.indexOf(`'${metric}'`);
    if (at < 0) continue;
    const rest = source.slice(at + metric.length + 2);
    const end = rest.search(/\bregisters\b|=>|'scopehive_/);
    const definition = end < 0 ? rest : rest.slice(0, end);
    const list = /\[\s*('[a-z_]+'(?:\s*,\s*'[a-z_]+')*)\s*,?\s*\]/.exec(definition);
    return new Set(list ? [...list[1].matchAll(/'([a-z_]+)'/g)].map((m) => m[1]) : []);
  }
  throw new Error(`metric ${metric} is defined nowhere in shared/src or services/*/src`);
}

/** Every series a service of ours exports carries `node` (its registry's default label). */
const hasNodeLabel = (metric: string) => /^(scopehive|process|nodejs)_/.test(metric);

/** Each vector selector of an expression: its metric and its label matchers as written. */
function selectors(expr: string): Array<{ metric: string; matchers: string }> {
  const out: Array<{ metric: string; matchers: string }> = [];
  const names = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g;
  const cleaned = expr.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '').replace(/\[[^\]]*\]/g, '');
  for (const m of cleaned.matchAll(names)) {
    const [, metric, matchers = ''] = m;
    const next = cleaned.slice((m.index ?? 0) + m[0].length).trimStart();
    if (next.startsWith('(') || /^\d/.test(metric)) continue; // a function call, not a series
    if (['sum', 'max', 'min', 'avg', 'count', 'and', 'or', 'unless'].includes(metric)) continue;
    out.push({ metric: metric.replace(/_(bucket|sum|count)$/, ''), matchers });
  }
  return out;
}

/**
 * The label a variable filters, per dashboard: on the Hive dashboard `node` picks hive members
 * (the `member` label; `node` there is only the node that serves the figure).
 */
const filteredLabel = (file: string, variable: 'node' | 'model', labels: Set<string>) =>
  file === 'hive.json' && variable === 'node' && labels.has('member') ? 'member' : variable;

/** The hive's shared job queue: every node shows the same figure, so no node picks it. */
const hiveWide = new Set(['scopehive_queue_jobs_waiting']);

describe('dashboard units', () => {
  it.each(dashboards)('%s: no length in unit `m`, which Grafana shows as minutes', (_file, d) => {
    for (const panel of allPanels(d.panels)) {
      const units = [panel.fieldConfig?.defaults?.unit, panel.options?.yAxis?.unit];
      expect(units, panel.title).not.toContain('m');
      const lengths = (panel.targets ?? []).some((t) => /_meters(_bucket|_sum|_count)?\b/.test(t.expr ?? ''));
      if (lengths) expect(units.filter(Boolean), panel.title).toEqual(units.map(() => 'lengthm'));
    }
  });
});

describe('template variables', () => {
  it.each(dashboards)(
    '%s has `node` and `model` variables: Prometheus label values, multi, with All',
    (_f, d) => {
      const variables = d.templating?.list ?? [];
      for (const name of ['node', 'model']) {
        const v = variables.find((x) => x.name === name);
        expect(v, name).toMatchObject({
          type: 'query',
          datasource: { uid: 'prometheus' },
          includeAll: true,
          multi: true,
          allValue: '.*',
        });
      }
    },
  );

  it.each(dashboards)(
    '%s: every query filters by node and model wherever its metric has the label',
    (file, d) => {
      const missing: string[] = [];
      for (const panel of allPanels(d.panels)) {
        for (const target of panel.targets ?? []) {
          for (const { metric, matchers } of selectors(target.expr ?? '')) {
            if (metric === 'up' || metric === 'ALERTS') continue;
            const labels = labelsOf(metric);
            if (hasNodeLabel(metric)) labels.add('node');
            const wanted: Array<'node' | 'model'> = [];
            if (labels.has('model')) wanted.push('model');
            if (labels.has('node') && !(file === 'hive.json' && hiveWide.has(metric))) wanted.push('node');
            for (const variable of wanted) {
              const label = filteredLabel(file, variable, labels);
              if (!matchers.includes(`${label}=~"$${variable}"`)) {
                missing.push(`${panel.title} (${target.refId}): ${metric} without ${label}=~"$${variable}"`);
              }
            }
          }
        }
      }
      expect(missing).toEqual([]);
    },
  );
});

describe('thresholds and alerts', () => {
  const alerts = readYaml<{ groups: Array<{ rules: Array<{ alert?: string; expr: string }> }> }>(
    'prometheus/rules.yml',
  ).groups.flatMap((g) => g.rules);

  /** The comparison an alert fires on: its operator and value (every branch must agree). */
  function firesWhen(name: string): { op: '<' | '>'; value: number } {
    const expr = alerts.find((a) => a.alert === name)?.expr;
    if (!expr) throw new Error(`no alert ${name} in prometheus/rules.yml`);
    const comparisons = [...expr.matchAll(/([<>])\s*(\d+(?:\.\d+)?)\s*(?:$|\n|\bor\b)/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(new Set(comparisons).size, `${name}: ${comparisons.join(', ')}`).toBe(1);
    const [op, value] = comparisons[0].split(' ');
    return { op: op as '<' | '>', value: Number(value) };
  }

  // The panel that shows the figure the alert compares.
  const linked = [
    { alert: 'DataVolumeNearlyFull', file: 'device.json', panel: 'Data volume free' },
    { alert: 'TemperatureHigh', file: 'device.json', panel: 'Temperatures' },
    { alert: 'RejectedFilesSurging', file: 'microscope.json', panel: 'Rejected files (last 15 min)' },
  ];

  it.each(linked)('$file "$panel" turns red exactly where $alert fires', ({ alert, file, panel }) => {
    const { op, value } = firesWhen(alert);
    const found = allPanels(dashboard(file).panels).find((p) => p.title === panel);
    const steps = found?.fieldConfig?.defaults?.thresholds?.steps ?? [];
    const at = steps.findIndex((s) => s.value === value);
    expect(at, `${panel}: a threshold step at ${value}`).toBeGreaterThan(0);
    // Grafana colours a value with the last step at or below it.
    const red = op === '>' ? steps[at] : steps[at - 1];
    expect(red.color, `${panel}: the side where ${alert} fires`).toBe('red');
  });

  it('the Device dashboard lists the firing alerts', () => {
    const table = allPanels(dashboard('device.json').panels).find((p) =>
      (p.targets ?? []).some((t) => /ALERTS\{alertstate="firing"/.test(t.expr ?? '')),
    );
    expect(table?.type).toBe('table');
  });
});

describe('the latest annotated image', () => {
  it('is asked for again at every refresh: its address carries the dashboard time', () => {
    const images = allPanels(dashboard('microscope.json').panels).flatMap((p) =>
      [...(p.options?.content ?? '').matchAll(/<img[^>]*src="([^"]+)"/g)].map((m) => m[1]),
    );
    expect(images.length).toBeGreaterThan(0);
    // `${__to}` is the end of the time range in ms: it moves with "now" at each auto-refresh, and
    // the text panel interpolates it (Grafana 11 re-renders such panels when the time range moves).
    for (const src of images) expect(src).toMatch(/[?&]t=\$\{__to\}/);
  });
});
