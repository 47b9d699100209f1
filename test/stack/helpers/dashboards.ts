import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ refId?: string; expr?: string; hide?: boolean }>;
  panels?: Panel[];
  options?: { content?: string };
}

interface Dashboard {
  title: string;
  panels?: Panel[];
  templating?: { list?: Array<{ name: string }> };
}

/** One panel query as Grafana sends it, and as the test sends it to Prometheus. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  /** As written in the dashboard. */
  expr: string;
  /** With Grafana's variables replaced. */
  promql: string;
}

/**
 * Grafana's built-in interval variables, with the values a dashboard over the last hour would get
 * (`$__rate_interval` is at least four scrape intervals; one minute covers the device's 15 s).
 */
const builtIns: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

/**
 * Replaces Grafana variables: the built-in intervals by fixed durations and the dashboard's own
 * template variables (`$node`, `${model}`, `[[class]]`) by `.*`, which is "All" in a regex matcher.
 * A variable that is neither fails: the query Grafana sends could not be known.
 */
export function toPromQL(expr: string, templateVariables: readonly string[]): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]/g, (whole, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    // `$1` is a regex group reference (label_replace), not a variable.
    if (/^\d+$/.test(name)) return whole;
    if (name in builtIns) return builtIns[name];
    if (templateVariables.includes(name)) return '.*';
    throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
  });
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function readDashboards(dir: string): Dashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dashboard);
}

/** Every PromQL query of every panel (hidden ones too) of every dashboard file in `dir`. */
export function dashboardQueries(dir: string): PanelQuery[] {
  return readDashboards(dir).flatMap((d) => {
    const variables = (d.templating?.list ?? []).map((v) => v.name);
    return allPanels(d.panels ?? []).flatMap((p) =>
      (p.targets ?? [])
        .filter((t) => t.expr)
        .map((t) => ({
          dashboard: d.title,
          panel: p.title,
          refId: t.refId ?? '',
          expr: t.expr as string,
          promql: toPromQL(t.expr as string, variables),
        })),
    );
  });
}

/**
 * Paths that text panels load from the exporter through Grafana's data source proxy
 * (`/api/datasources/proxy/uid/<uid>/<path>`), with the panel title.
 */
export function proxiedImages(dir: string, datasourceUid: string): Array<{ panel: string; path: string }> {
  const prefix = `/api/datasources/proxy/uid/${datasourceUid}/`;
  return readDashboards(dir).flatMap((d) =>
    allPanels(d.panels ?? []).flatMap((p) =>
      [...(p.options?.content ?? '').matchAll(/src="([^"]+)"/g)]
        .filter((m) => m[1].startsWith(prefix))
        .map((m) => ({ panel: `${d.title}: ${p.title}`, path: `/${m[1].slice(prefix.length)}` })),
    ),
  );
}
