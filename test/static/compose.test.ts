import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { balenaImages, balenaNormalize, readYaml, repoRoot } from './helpers.ts';

/**
 * Fields balena's compose parser accepts (its compose 2.4 schema) but the supervisor documents as
 * unsupported ("docker-compose.yml fields / Known unsupported fields",
 * https://docs.balena.io/reference/supervisor/docker-compose/): `balena push` would take them and the
 * device would silently ignore them, so the parser alone cannot catch them.
 */
const ignoredBySupervisor = [
  'container_name',
  'links',
  'external_links',
  'logging',
  'runtime',
  'volumes_from',
];

interface Service {
  [key: string]: unknown;
  build?: string | { context: string; dockerfile?: string };
  image?: string;
  volumes?: string[];
  ports?: string[];
  labels?: Record<string, string>;
  environment?: Record<string, string> | string[];
  depends_on?: unknown;
  healthcheck?: { test: unknown };
  restart?: string;
}

interface Compose {
  version: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
}

const compose = readYaml<Compose>('docker-compose.yml');
const services = Object.entries(compose.services);
const nodeServices = ['ingest', 'inference', 'exporter'];

function env(service: Service): Record<string, string> {
  const e = service.environment ?? {};
  if (!Array.isArray(e)) return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(
    e.map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

describe('docker-compose.yml', () => {
  it("passes balena's own compose parser, which reads every service balena would deploy", () => {
    expect(compose.version).toBe('2.4');
    const composition = balenaNormalize(compose);
    expect(
      balenaImages(composition)
        .map((image) => image.serviceName)
        .sort(),
    ).toEqual(Object.keys(compose.services).sort());
    // The control volume is mounted read-only in Grafana, and balena keeps it so.
    expect(composition.services.grafana.volumes).toContain('control:/control:ro');
  });

  it('runs the device stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['exporter', 'grafana', 'inference', 'ingest', 'nats', 'nats-exporter', 'nfs', 'prometheus'].sort(),
    );
  });

  it.each(services)('%s uses no field the supervisor ignores', (_name, service) => {
    for (const key of ignoredBySupervisor) expect(service[key], `field ${key}`).toBeUndefined();
  });

  it.each(services)('%s builds from a local folder or runs a pinned image', (_name, service) => {
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      expect(build.context).not.toMatch(/^(https?|git)[:@]/);
      const dockerfile = path.join(repoRoot, build.context, build.dockerfile ?? 'Dockerfile.template');
      expect(existsSync(dockerfile), dockerfile).toBe(true);
    } else {
      // An exact release (x.y.z), or a digest: a floating tag would change what a release runs.
      expect(service.image).toMatch(/^[\w./-]+(:v?\d+\.\d+\.\d+[\w.-]*|@sha256:[a-f0-9]{64})$/);
    }
  });

  // balena's parser refuses undeclared volumes and bind mounts other than the host paths its
  // feature labels stand for; the project allows none at all (host access only through labels) and
  // no volume driver options (a `local` driver with `o: bind` would be a bind mount in disguise).
  it('mounts named volumes only, none of them bound to a host path, none with driver options', () => {
    for (const [name, config] of Object.entries(compose.volumes ?? {})) {
      expect(config ?? {}, `volume ${name}`).toEqual({});
    }
    for (const [name, service] of services) {
      for (const mount of service.volumes ?? []) {
        expect(typeof mount, `${name}: long volume syntax`).toBe('string');
        expect(mount, `${name}: ${mount}`).toMatch(/^[\w-]+:\/[^:]*(:ro)?$/);
      }
    }
  });

  it("publishes only Grafana on port 80, the NFS share on 2049 and the hive's NATS routes on 6222", () => {
    const published = Object.fromEntries(
      services.filter(([, s]) => (s.ports ?? []).length > 0).map(([n, s]) => [n, s.ports]),
    );
    expect(published).toEqual({ grafana: ['80:3000'], nats: ['6222:6222/tcp'], nfs: ['2049:2049/tcp'] });
  });

  it('restarts every service and checks the health of everything but the NATS exporter', () => {
    for (const [name, service] of services) {
      expect(['always', 'unless-stopped'], name).toContain(service.restart);
      // natsio/prometheus-nats-exporter is a scratch image: nothing in it could run a check.
      if (name !== 'nats-exporter') expect(service.healthcheck?.test, name).toBeDefined();
    }
  });

  it.each(nodeServices)('%s listens on all interfaces and finds NATS and the data volume', (name) => {
    const service = compose.services[name];
    expect(env(service)).toMatchObject({
      SCOPEHIVE_HOST: '0.0.0.0',
      NATS_URL: 'nats://nats:4222',
      SCOPEHIVE_DATA_DIR: '/data',
    });
    expect(service.volumes).toContain('data:/data');
    expect(JSON.stringify(service.healthcheck?.test)).toContain('/healthz');
  });

  it('gives each service only the host access it needs', () => {
    // Exactly these balena feature labels: balena's parser accepts any label name, so a misspelt
    // feature would silently give nothing.
    const features = Object.fromEntries(
      services.map(([name, s]) => [
        name,
        Object.keys(s.labels ?? {})
          .filter((label) => label.startsWith('io.balena.'))
          .sort(),
      ]),
    );
    expect(features).toEqual({
      nfs: ['io.balena.features.kernel-modules', 'io.balena.features.sysfs'],
      nats: [],
      'nats-exporter': [],
      ingest: [],
      inference: [],
      exporter: ['io.balena.features.supervisor-api', 'io.balena.features.sysfs'],
      prometheus: [],
      grafana: [],
    });
    // The kernel NFS server needs it; inference does not on x86-64 (CPU only), see below for Jetson.
    const privileged = services.filter(([, s]) => s.privileged === true).map(([n]) => n);
    expect(privileged).toEqual(['nfs']);
  });

  it('builds NATS from nats/ (its configuration rendered from the environment) and keeps JetStream on a named volume', () => {
    const nats = compose.services.nats;
    expect(nats.build).toEqual({ context: './nats', dockerfile: 'Dockerfile.template' });
    expect(nats.volumes).toEqual(['jetstream:/data/jetstream']);
  });

  it('bounds Prometheus storage by time and size', () => {
    const command = compose.services.prometheus.command as string[];
    expect(command).toContain('--storage.tsdb.retention.time=15d');
    expect(command).toContain('--storage.tsdb.retention.size=2GB');
  });

  it('never sets a Grafana admin password or turns on anonymous access', () => {
    const grafana = env(compose.services.grafana);
    expect(Object.keys(grafana).filter((k) => k.includes('PASSWORD'))).toEqual([]);
    expect(grafana.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
  });
});

describe('docker-compose.jetson.yml', () => {
  it('is docker-compose.yml with only the inference container privileged (Jetson GPU devices)', () => {
    const jetson = readYaml<Compose>('docker-compose.jetson.yml');
    const expected = structuredClone(compose);
    expected.services.inference.privileged = true;
    expect(jetson).toEqual(expected);
    expect(balenaNormalize(jetson).services.inference.privileged).toBe(true);
  });
});

interface BalenaYml {
  name: string;
  type: string;
  version: string;
  description: string;
  assets: Record<string, { type: string; data: { url: string } }>;
  data: {
    applicationEnvironmentVariables: Array<Record<string, string>>;
    defaultDeviceType: string;
    supportedDeviceTypes: string[];
  };
}

describe('balena.yml', () => {
  const balena = readYaml<BalenaYml>('balena.yml');

  it('describes the fleet application', () => {
    expect(balena).toMatchObject({ name: 'scopehive', type: 'sw.application' });
    expect(balena.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(balena.description.length).toBeGreaterThan(20);
    expect(Object.keys(balena.assets).sort()).toEqual(['logo', 'repository']);
  });

  // balena documents the logo as a URL to the image in the app's own repository (raw GitHub
  // content of its default branch): the file must be there, or balenaHub shows no logo.
  it('names a logo that exists in this repository, as a PNG or SVG', () => {
    const repository = new URL(balena.assets.repository.data.url);
    const logo = new URL(balena.assets.logo.data.url);
    expect(logo.host).toBe('raw.githubusercontent.com');
    const [owner, repo, _branch, ...rest] = logo.pathname.slice(1).split('/');
    expect(`/${owner}/${repo}`).toBe(repository.pathname);
    const file = path.join(repoRoot, ...rest);
    expect(existsSync(file), rest.join('/')).toBe(true);
    const head = readFileSync(file).subarray(0, 8);
    const png = head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png || /<svg[\s>]/.test(readFileSync(file, 'utf8'))).toBe(true);
  });

  it('supports the Jetson and x86-64 device types, Orin by default', () => {
    expect(balena.data.defaultDeviceType).toBe('jetson-agx-orin-devkit');
    expect(balena.data.supportedDeviceTypes).toEqual([
      'jetson-agx-orin-devkit',
      'jetson-agx-orin-devkit-64gb',
      'jetson-xavier',
      'jetson-xavier-nx-devkit',
      'jetson-xavier-nx-devkit-emmc',
      'jetson-orin-nx-xavier-nx-devkit',
      'genericx86-64-ext',
      'generic-amd64',
    ]);
  });

  it('gives safe defaults and no password', () => {
    const vars = Object.assign({}, ...balena.data.applicationEnvironmentVariables) as Record<string, unknown>;
    for (const entry of balena.data.applicationEnvironmentVariables)
      expect(Object.keys(entry)).toHaveLength(1);
    expect(Object.keys(vars).filter((k) => /PASSWORD|SECRET|TOKEN|KEY/i.test(k))).toEqual([]);
    expect(vars.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(String(vars.SCOPEHIVE_NFS_ALLOWED)).not.toContain('*');
    expect(String(vars.SCOPEHIVE_NFS_OPTIONS)).toContain('root_squash');
    expect(String(vars.SCOPEHIVE_NFS_OPTIONS)).not.toContain('no_root_squash');
  });
});
