/**
 * Grafana's plugin route proxy (`/api/plugin-proxy/<plugin>/<path>`), as Grafana 11 implements it
 * (pkg/api/pluginproxy): the plugin.json routes are tried in order; a route with a method matches only
 * that method; its path matches like Grafana's router (literal segments, `:name` one segment, `*` the
 * rest, which is appended to the route's url); the first match is checked against `reqRole` (a server
 * admin passes every check) and answers 403 when the user's role is too low, 404 when no route matches.
 * The url and headers are templates over the app's jsonData and secureJsonData; the browser's
 * cookies are dropped and `X-Grafana-User` names the user ([dataproxy] send_user_header). Routes come
 * from the plugin's own plugin.json, never a copy.
 */
import http from 'node:http';

export type OrgRole = 'Viewer' | 'Editor' | 'Admin';

export interface GrafanaUser {
  login: string;
  orgRole: OrgRole;
  isGrafanaAdmin: boolean;
}

export interface PluginRoute {
  path: string;
  method?: string;
  reqRole?: OrgRole;
  url: string;
  headers?: Array<{ name: string; content: string }>;
}

export interface AppSettings {
  jsonData: Record<string, string>;
  secureJsonData: Record<string, string>;
}

const RANK: Record<OrgRole, number> = { Viewer: 1, Editor: 2, Admin: 3 };

/** The part `*` matched ('' without a `*`), or undefined when the route's path does not match. */
export function matchPath(pattern: string, path: string): string | undefined {
  const want = pattern.replace(/^\/+/, '').split('/');
  const got = path.replace(/^\/+/, '').split('/');
  for (let i = 0; i < want.length; i += 1) {
    if (want[i] === '*') return got.slice(i).join('/');
    if (got[i] === undefined || got[i] === '') return undefined;
    if (!want[i].startsWith(':') && want[i] !== got[i]) return undefined;
  }
  return got.length === want.length ? '' : undefined;
}

/** Grafana's `{{ .JsonData.x }}` / `{{ .SecureJsonData.x }}` templates (a missing key renders empty). */
export function interpolate(template: string, settings: AppSettings): string {
  return template.replace(
    /\{\{\s*\.(JsonData|SecureJsonData)\.(\w+)\s*\}\}/g,
    (_m, bag: string, key: string) =>
      String((bag === 'JsonData' ? settings.jsonData : settings.secureJsonData)[key] ?? ''),
  );
}

export function hasRole(user: GrafanaUser, needed: OrgRole | undefined): boolean {
  return needed === undefined || user.isGrafanaAdmin || RANK[user.orgRole] >= RANK[needed];
}

function answer(res: http.ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
}

/** Proxies one request for `proxyPath` (after `/api/plugin-proxy/<plugin>/`) as Grafana would. */
export function proxyPluginRoute(options: {
  routes: PluginRoute[];
  settings: AppSettings;
  user: GrafanaUser;
  proxyPath: string;
  query: string;
  req: http.IncomingMessage;
  res: http.ServerResponse;
}): void {
  const { routes, settings, user, req, res } = options;
  let matched: { route: PluginRoute; rest: string } | undefined;
  for (const route of routes) {
    if (route.method && route.method !== req.method) continue;
    const rest = matchPath(route.path, options.proxyPath);
    if (rest === undefined) continue;
    if (!hasRole(user, route.reqRole)) {
      answer(res, 403, 'plugin proxy route access denied');
      return;
    }
    matched = { route, rest };
    break;
  }
  if (!matched) {
    answer(res, 404, 'plugin route match not found');
    return;
  }
  const base = new URL(interpolate(matched.route.url, settings));
  const target = new URL(base);
  if (matched.rest) target.pathname = `${base.pathname.replace(/\/+$/, '')}/${matched.rest}`;
  target.search = options.query;
  const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
  delete headers.cookie;
  headers['x-grafana-user'] = user.login;
  for (const h of matched.route.headers ?? [])
    headers[h.name.toLowerCase()] = interpolate(h.content, settings);
  const upstream = http.request(target, { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) answer(res, 502, 'Bad Gateway');
    else res.destroy();
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}
