/**
 * The plugin's proxy routes are its security: Theiascope's plugin let any Viewer reboot the device
 * because every route took any method at Viewer level. Each route here names its method and role, acts
 * only with the admin token at Editor or Admin, and reads with the view token; the harness's copy of
 * Grafana's route matching is checked on the cases that decide who may do what.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hasRole, interpolate, matchPath } from './harness/grafana-proxy.ts';
import { pluginJson, repoRoot } from './harness/plugin.ts';

const { id, routes } = pluginJson();

/** The first route Grafana would take for this request, as the harness proxy picks it. */
const routeFor = (method: string, proxyPath: string) =>
  routes.find((r) => (!r.method || r.method === method) && matchPath(r.path, proxyPath) !== undefined);

describe('scopehive-app plugin.json routes', () => {
  it('is the app scopehive-app, whose routes all name a method and a role', () => {
    expect(id).toBe('scopehive-app');
    for (const r of routes) {
      expect(['GET', 'POST'], r.path).toContain(r.method);
      expect(['Viewer', 'Editor', 'Admin'], r.path).toContain(r.reqRole);
    }
  });

  it('reads with the view token and acts with the admin token, and only at Editor or Admin', () => {
    for (const r of routes) {
      const auth = r.headers?.find((h) => h.name.toLowerCase() === 'authorization')?.content;
      if (r.method === 'GET') {
        expect(r.reqRole, r.path).toBe('Viewer');
        if (auth) expect(auth, r.path).toBe('Bearer {{ .SecureJsonData.viewToken }}');
      } else {
        expect(['Editor', 'Admin'], r.path).toContain(r.reqRole);
        expect(auth, r.path).toBe('Bearer {{ .SecureJsonData.adminToken }}');
      }
      expect(r.url, r.path).toMatch(/^\{\{ \.JsonData\.exporterUrl \}\}\/(api\/v1\/|images$)/);
    }
  });

  it.each([
    ['GET', 'device', 'Viewer', '/api/v1/device'],
    ['GET', 'logs', 'Viewer', '/api/v1/logs'],
    ['GET', 'images/latest.jpg', 'Viewer', '/images'],
    ['POST', 'services/inference/restart', 'Editor', '/api/v1/services'],
    ['POST', 'reboot', 'Admin', '/api/v1/reboot'],
    ['POST', 'shutdown', 'Admin', '/api/v1/shutdown'],
    ['POST', 'update', 'Admin', '/api/v1/update'],
  ])('%s %s needs %s and goes to the exporter’s %s', (method, proxyPath, role, target) => {
    const r = routeFor(method, proxyPath);
    expect(r?.reqRole).toBe(role);
    expect(r?.url).toBe(`{{ .JsonData.exporterUrl }}${target}`);
  });

  it.each([
    ['POST', 'device'],
    ['GET', 'reboot'],
    ['PUT', 'reboot'],
    ['DELETE', 'services/inference'],
    ['GET', 'services/inference/restart'],
    ['POST', 'logs'],
  ])('%s %s matches no route', (method, proxyPath) => {
    expect(routeFor(method, proxyPath)).toBeUndefined();
  });
});

describe("the harness's Grafana route matching", () => {
  it('matches like Grafana: literal segments, * for the rest, nothing more or less', () => {
    expect(matchPath('device', 'device')).toBe('');
    expect(matchPath('device', 'device/x')).toBeUndefined();
    expect(matchPath('services/*', 'services/ingest/restart')).toBe('ingest/restart');
    expect(matchPath('services/:name/restart', 'services/ingest/restart')).toBe('');
  });

  it('renders templates from jsonData and secureJsonData, a missing key as empty', () => {
    const settings = {
      jsonData: { exporterUrl: 'http://exporter:9464' },
      secureJsonData: { viewToken: 'v' },
    };
    expect(interpolate('{{ .JsonData.exporterUrl }}/api/v1', settings)).toBe('http://exporter:9464/api/v1');
    expect(interpolate('Bearer {{ .SecureJsonData.adminToken }}', settings)).toBe('Bearer ');
  });

  it('ranks roles, and a server admin passes every check', () => {
    const viewer = { login: 'v', orgRole: 'Viewer' as const, isGrafanaAdmin: false };
    expect(hasRole(viewer, 'Editor')).toBe(false);
    expect(hasRole({ ...viewer, orgRole: 'Admin' }, 'Editor')).toBe(true);
    expect(hasRole({ ...viewer, isGrafanaAdmin: true }, 'Admin')).toBe(true);
  });
});

describe('Grafana provisioning of the app', () => {
  const yaml = parse(
    readFileSync(path.join(repoRoot, 'grafana/provisioning/plugins/scopehive-app.yaml'), 'utf8'),
  );

  it('enables scopehive-app with the tokens read from the control volume, never written in the file', () => {
    expect(yaml.apps).toEqual([
      {
        type: 'scopehive-app',
        org_id: 1,
        disabled: false,
        jsonData: { exporterUrl: 'http://exporter:9464' },
        secureJsonData: {
          viewToken: '$__file{/control/view.token}',
          adminToken: '$__file{/control/admin.token}',
        },
      },
    ]);
  });

  it('the image loads the plugin unsigned by name, outside the Grafana volume, and sends the user header', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'grafana/Dockerfile.template'), 'utf8');
    expect(dockerfile).toContain('GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=scopehive-app');
    expect(dockerfile).toContain('GF_PATHS_PLUGINS=/etc/grafana/plugins');
    expect(dockerfile).toContain('COPY --from=plugin /plugin/dist/ /etc/grafana/plugins/scopehive-app/');
    expect(dockerfile).toContain('GF_DATAPROXY_SEND_USER_HEADER=true');
    expect(dockerfile).toContain(
      'COPY provisioning/plugins/scopehive-app.yaml /etc/grafana/provisioning/plugins/',
    );
  });

  it('the latest-image panel reads through the Viewer images route, and the stand-in data source is gone', () => {
    const dashboard = readFileSync(path.join(repoRoot, 'grafana/dashboards/microscope.json'), 'utf8');
    expect(dashboard).toContain(`/api/plugin-proxy/${id}/images/latest.jpg`);
    expect(dashboard).not.toContain('/api/datasources/proxy/uid/scopehive-exporter/');
    const datasources = readFileSync(
      path.join(repoRoot, 'grafana/provisioning/datasources/prometheus.yaml'),
      'utf8',
    );
    expect(parse(datasources).datasources.map((d: { uid: string }) => d.uid)).toEqual(['prometheus']);
  });
});
