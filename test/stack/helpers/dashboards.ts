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

/** Which dashboard files of the folder: all but `except`, or only `only`. */
export interface DashboardFiles {
  only?: readonly string[];
  except?: readonly string[];
}

function readDashboards(dir: string, files: DashboardFiles = {}): Dashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .filter((f) => (files.only ? files.only.includes(f) : !files.except?.includes(f)))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dashboard);
}

/** Every PromQL query of every panel (hidden ones too) of the dashboard files in `dir`. */
export function dashboardQueries(dir: string, files: DashboardFiles = {}): PanelQuery[] {
  return readDashboards(dir, files).flatMap((d) => {
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

/** The scopehive app's route to the exporter's images (grafana/plugins/scopehive-app/src/plugin.json). */
const appImagesRoute = '/api/plugin-proxy/scopehive-app/images/';

/**
 * Images that text panels load from the exporter through the scopehive app's `images/*` route
 * (`/api/plugin-proxy/scopehive-app/images/<path>` → the exporter's `/images/<path>`), with the
 * panel title; Grafana's time variables (`${__to}`, `${__from}`) get a time in ms, as Grafana gives.
 */
export function exporterImages(dir: string, now = Date.now()): Array<{ panel: string; path: string }> {
  const times = (src: string) => src.replace(/\$\{__(to|from)\}|\$__(to|from)\b/g, String(now));
  return readDashboards(dir).flatMap((d) =>
    allPanels(d.panels ?? []).flatMap((p) =>
      [...(p.options?.content ?? '').matchAll(/src="([^"]+)"/g)]
        .filter((m) => m[1].startsWith(appImagesRoute))
        .map((m) => ({
          panel: `${d.title}: ${p.title}`,
          path: `/images/${times(m[1].slice(appImagesRoute.length))}`,
        })),
    ),
  );
}

/** An instant query through Prometheus's HTTP API: data means at least one series with a number. */
export async function instantQuery(
  prometheusUrl: string,
  promql: string,
): Promise<{ hasData: boolean; text: string }> {
  let res: Response;
  try {
    res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  } catch {
    return { hasData: false, text: 'Prometheus did not answer' };
  }
  const text = await res.text();
  const body = JSON.parse(text) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== 'success' || !body.data) return { hasData: false, text: body.error ?? text };
  const values =
    body.data.resultType === 'vector'
      ? (body.data.result as Array<{ value: [number, string] }>).map((s) => s.value[1])
      : body.data.resultType === 'scalar'
        ? [(body.data.result as [number, string])[1]]
        : [];
  const summary = values.length === 0 ? 'no series' : `values ${values.slice(0, 5).join(', ')}`;
  return { hasData: values.some((v) => v !== 'NaN'), text: summary };
}

/**
 * Every query of the dashboards, asked again until each has data or `timeoutMs` passes (rates need
 * two scrapes of a counter that moved): the ones still without data, each with its panel and answer.
 */
export async function queriesWithoutData(
  prometheusUrl: string,
  queries: readonly PanelQuery[],
  timeoutMs: number,
): Promise<string[]> {
  const explain = (q: PanelQuery, answer: string) =>
    `${q.dashboard} / "${q.panel}" (${q.refId}): ${q.expr}${q.promql === q.expr ? '' : ` → ${q.promql}`} → ${answer}`;
  let noData: string[] = [];
  const deadline = Date.now() + timeoutMs;
  do {
    noData = [];
    for (const q of queries) {
      const answer = await instantQuery(prometheusUrl, q.promql);
      if (!answer.hasData) noData.push(explain(q, answer.text));
    }
    if (noData.length > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
  } while (noData.length > 0 && Date.now() < deadline);
  return noData;
}
