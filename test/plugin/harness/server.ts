/**
 * A stand-in for Grafana's server as far as the plugin sees it: sessions with a login and a role (a
 * cookie, as Grafana's session), the app page with its boot data, the built plugin under
 * /public/plugins/, the plugin route proxy in front of the real control API and, when given a
 * Prometheus, Grafana's data source proxy to it (uid `prometheus`, reads only); without one the Hive
 * page stays hidden, as on a device in no hive.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { insideFolder } from '@scopehive/shared';
import { type AppSettings, type GrafanaUser, proxyPluginRoute } from './grafana-proxy.ts';
import { bundleHost, distDir, pluginDir, pluginJson } from './plugin.ts';

export interface HarnessServer {
  url: string;
  /** A session for this user: the cookie a browser context sends. */
  signIn(user: GrafanaUser): { name: string; value: string; url: string };
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

export async function startHarness(
  settings: AppSettings,
  options: { prometheusUrl?: string } = {},
): Promise<HarnessServer> {
  const plugin = pluginJson();
  const host = await bundleHost();
  const sessions = new Map<string, GrafanaUser>();
  let url = '';

  const page = (user: GrafanaUser) => `<!doctype html>
<html lang="en"><head><base href="/"><meta charset="utf-8"><title>scopehive - Grafana</title></head>
<body><div id="root"></div>
<script>window.__SCOPEHIVE_HARNESS__ = ${JSON.stringify({ user })};</script>
<script src="/harness/host.js"></script>
<script src="/public/plugins/${plugin.id}/module.js"></script>
<script>window.__scopehiveStart();</script>
</body></html>`;

  const server = http.createServer(async (req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://harness');
    const session = /(?:^|;\s*)grafana_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const user = session ? sessions.get(session) : undefined;
    const send = (status: number, type: string, body: string | Buffer) =>
      res.writeHead(status, { 'content-type': type }).end(body);
    if (!user) return send(401, 'application/json', JSON.stringify({ message: 'Unauthorized' }));

    const proxyPrefix = `/api/plugin-proxy/${plugin.id}/`;
    if (parsed.pathname.startsWith(proxyPrefix)) {
      return proxyPluginRoute({
        routes: plugin.routes,
        settings,
        user,
        proxyPath: parsed.pathname.slice(proxyPrefix.length),
        query: parsed.search,
        req,
        res,
      });
    }
    const prometheusPrefix = '/api/datasources/proxy/uid/prometheus/';
    if (options.prometheusUrl && req.method === 'GET' && parsed.pathname.startsWith(prometheusPrefix)) {
      const target = `${options.prometheusUrl}/${parsed.pathname.slice(prometheusPrefix.length)}${parsed.search}`;
      const upstream = await fetch(target).catch(() => undefined);
      if (!upstream) return send(502, 'application/json', JSON.stringify({ message: 'Bad Gateway' }));
      return send(upstream.status, 'application/json', await upstream.text());
    }
    if (parsed.pathname.startsWith(`/a/${plugin.id}`)) return send(200, 'text/html', page(user));
    if (parsed.pathname === '/harness/host.js') return send(200, 'text/javascript', host);
    // The built plugin, and Grafana's icons (which @grafana/ui ships) where Grafana serves them.
    for (const [prefix, folder] of [
      [`/public/plugins/${plugin.id}/`, distDir],
      ['/public/img/', path.join(pluginDir, 'node_modules/@grafana/ui/dist/public/img')],
    ]) {
      if (!parsed.pathname.startsWith(prefix)) continue;
      try {
        const file = await insideFolder(folder, decodeURIComponent(parsed.pathname.slice(prefix.length)));
        return send(200, TYPES[path.extname(file)] ?? 'application/octet-stream', await fs.readFile(file));
      } catch {
        return send(404, 'application/json', JSON.stringify({ message: 'Not found' }));
      }
    }
    return send(404, 'application/json', JSON.stringify({ message: 'Not found' }));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    signIn(user) {
      const value = randomBytes(16).toString('hex');
      sessions.set(value, user);
      return { name: 'grafana_session', value, url };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
