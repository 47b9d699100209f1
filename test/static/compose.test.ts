import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readYaml, repoRoot } from './helpers.ts';

/**
 * Service fields balena's supervisor supports, from "docker-compose.yml fields / Supported fields"
 * (https://docs.balena.io/reference/supervisor/docker-compose/). Its "Known unsupported fields"
 * (container_name, links, logging, runtime, scale, volumes_from, …) are therefore refused too.
 */
const balenaServiceKeys = [
  'build',
  'cap_add',
  'cap_drop',
  'cgroup_parent',
  'command',
  'cpu_shares',
  'cpu_quota',
  'cpus',
  'cpuset',
  'devices',
  'depends_on',
  'dns',
  'dns_opt',
  'dns_search',
  'domainname',
  'entrypoint',
  'environment',
  'expose',
  'extra_hosts',
  'group_add',
  'healthcheck',
  'hostname',
  'image',
  'init',
  'ipc',
  'labels',
  'mac_address',
  'mem_limit',
  'mem_reservation',
  'network_mode',
  'networks',
  'oom_kill_disable',
  'oom_score_adj',
  'pid',
  'pids_limit',
  'ports',
  'privileged',
  'read_only',
  'restart',
  'security_opt',
  'shm_size',
  'stop_grace_period',
  'stop_signal',
  'sysctls',
  'tmpfs',
  'ulimits',
  'user',
  'userns_mode',
  'volumes',
  'working_dir',
];

/** Compose file format 2.x `build` fields (balena: "URLs to git repositories are not supported"). */
const buildKeys = [
  'context',
  'dockerfile',
  'args',
  'labels',
  'target',
  'cache_from',
  'shm_size',
  'extra_hosts',
];

/** Service labels balena gives a meaning to ("Labels" on the same page). */
const balenaLabels = [
  'io.balena.features.balena-socket',
  'io.balena.features.dbus',
  'io.balena.features.sysfs',
  'io.balena.features.procfs',
  'io.balena.features.kernel-modules',
  'io.balena.features.firmware',
  'io.balena.features.journal-logs',
  'io.balena.features.supervisor-api',
  'io.balena.features.balena-api',
  'io.balena.update.strategy',
  'io.balena.update.handover-timeout',
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
  it('is a compose 2.x file with only top-level keys balena reads', () => {
    expect(compose.version).toMatch(/^2(\.\d)?$/);
    for (const key of Object.keys(compose))
      expect(['version', 'services', 'volumes', 'networks']).toContain(key);
  });

  it('runs the device stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['exporter', 'grafana', 'inference', 'ingest', 'nats', 'nats-exporter', 'nfs', 'prometheus'].sort(),
    );
  });

  it.each(services)('%s uses only fields balena supports', (_name, service) => {
    for (const key of Object.keys(service)) expect(balenaServiceKeys, `field ${key}`).toContain(key);
    if (typeof service.build === 'object') {
      for (const key of Object.keys(service.build)) expect(buildKeys, `build.${key}`).toContain(key);
    }
    if (service.depends_on !== undefined) expect(Array.isArray(service.depends_on)).toBe(true);
    if (service.network_mode !== undefined) expect(['bridge', 'host']).toContain(service.network_mode);
    if (service.pid !== undefined) expect(service.pid).toBe('host');
    for (const label of Object.keys(service.labels ?? {})) {
      if (label.startsWith('io.balena.')) expect(balenaLabels, `label ${label}`).toContain(label);
    }
  });

  it.each(services)('%s builds from a local folder or runs a pinned image', (_name, service) => {
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      expect(build.context).not.toMatch(/^(https?|git)[:@]/);
      const dockerfile = path.join(repoRoot, build.context, build.dockerfile ?? 'Dockerfile.template');
      expect(existsSync(dockerfile), dockerfile).toBe(true);
    } else {
      expect(service.image).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(service.image).not.toMatch(/:latest$/);
    }
  });

  it('mounts named volumes only, all of them declared, none of them bound to a host path', () => {
    const declared = compose.volumes ?? {};
    for (const [name, config] of Object.entries(declared)) {
      expect(config ?? {}, `volume ${name}`).toEqual({});
    }
    for (const [name, service] of services) {
      for (const mount of service.volumes ?? []) {
        expect(typeof mount, `${name}: long volume syntax is not supported`).toBe('string');
        const [source, target, ...rest] = mount.split(':');
        expect(Object.keys(declared), `${name}: ${mount} is not a named volume`).toContain(source);
        expect(target).toMatch(/^\//);
        expect(rest.every((o) => o === 'ro' || o === 'rw')).toBe(true);
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
    const labels = (name: string) => compose.services[name].labels ?? {};
    expect(labels('nfs')).toMatchObject({
      'io.balena.features.kernel-modules': '1',
      'io.balena.features.sysfs': '1',
    });
    expect(labels('exporter')).toMatchObject({ 'io.balena.features.supervisor-api': '1' });
    // The kernel NFS server needs it; inference does not on x86-64 (CPU only), see below for Jetson.
    const privileged = services.filter(([, s]) => s.privileged === true).map(([n]) => n);
    expect(privileged).toEqual(['nfs']);
    for (const [name] of services) {
      expect(labels(name)['io.balena.features.balena-socket'], name).toBeUndefined();
    }
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
