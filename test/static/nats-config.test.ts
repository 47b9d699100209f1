// Long by design: one check per rule of nats/render-config.sh (the refusal table above all), plus the
// entrypoint run for real and the compose/balena.yml entries that go with them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findNatsServer, freePort } from '../../shared/test/helpers/nats-server.ts';
import { readYaml, requireTool, run } from './helpers.ts';

/** Runs nats/render-config.sh under the POSIX sh here (dash), with only the given variables set. */
function render(env: Record<string, string> = {}) {
  return run('sh', ['nats/render-config.sh'], { env: { PATH: process.env.PATH, ...env } });
}

const secret = 'Kq3/vR8+pL2mX9wZ4tB7nC1=';
/** What a device joining a hive is given. */
const member = {
  SCOPEHIVE_HIVE_SEEDS: '10.0.0.2, 10.0.0.3:7222 [fd00::4]',
  SCOPEHIVE_HIVE_SECRET: secret,
  SCOPEHIVE_HIVE_ADVERTISE: '10.0.0.1',
  BALENA_DEVICE_UUID: '0123456789abcdef0123456789abcdef',
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'scopehive-nats-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `nats-server -c <file> -t`: the real server parses the file (and loads any TLS files) and exits. */
function serverAccepts(config: string) {
  const file = path.join(tmp, `test-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, config);
  return run(findNatsServer(), ['-c', file, '-t']);
}

/** A CA and a node certificate signed by it, made with openssl: what a lab would hand out. */
function tlsFiles() {
  const openssl = requireTool('openssl', 'openssl');
  const f = (name: string) => path.join(tmp, name);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const args of [
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-subj',
      '/CN=hive-ca',
      '-days',
      '2',
    ],
    ['req', ...ec, '-keyout', f('node.key'), '-out', f('node.csr'), '-subj', '/CN=node'],
    ['x509', '-req', '-in', f('node.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial'],
  ]) {
    const full =
      args[0] === 'x509' ? [...args, '-out', f('node.pem'), '-days', '2', '-extfile', f('san.ext')] : args;
    const r = run(openssl, full);
    if (r.status !== 0) throw new Error(`openssl ${full[0]}: ${r.stderr}`);
  }
  return {
    SCOPEHIVE_HIVE_TLS_CERT: f('node.pem'),
    SCOPEHIVE_HIVE_TLS_KEY: f('node.key'),
    SCOPEHIVE_HIVE_TLS_CA: f('ca.pem'),
  };
}

/** The lines of the config (comments dropped, indentation trimmed). */
const lines = (config: string) =>
  config
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

describe('nats/render-config.sh', () => {
  it('is a hive of one by default: exactly the single JetStream server the device ran before', () => {
    const r = render();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      '# a hive of one (SCOPEHIVE_HIVE_SEEDS is empty): no cluster, JetStream true',
    );
    expect(lines(r.stdout)).toEqual([
      'host: "0.0.0.0"',
      'port: 4222',
      'max_payload: 8MB',
      'http: "0.0.0.0:8222"',
      'jetstream {',
      'store_dir: "/data/jetstream"',
      '}',
    ]);
    expect(serverAccepts(r.stdout).status).toBe(0);
  });

  it('names the server after the device in a hive of one, and needs no secret there', () => {
    const r = render({ BALENA_DEVICE_UUID: 'abc123', SCOPEHIVE_HIVE_SECRET: 'weak' });
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)[0]).toBe('server_name: "abc123"');
    expect(r.stdout).not.toContain('cluster {');
    expect(r.stdout).not.toContain('weak');
  });

  it('joins the hive with seeds: authenticated routes, advertised LAN address, clients kept local', () => {
    const r = render(member);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const l = lines(r.stdout);
    expect(l[0]).toBe(`server_name: "${member.BALENA_DEVICE_UUID}"`);
    expect(l).toContain('port: 4222');
    expect(l).toContain('max_payload: 8MB');
    const cluster = l.slice(l.indexOf('cluster {'));
    expect(cluster).toEqual([
      'cluster {',
      'name: "scopehive"',
      'host: "0.0.0.0"',
      'port: 6222',
      'advertise: "10.0.0.1:6222"',
      'no_advertise: true',
      'authorization {',
      'user: "hive"',
      `password: "${secret}"`,
      'timeout: 2',
      '}',
      'routes: [',
      // `/` percent-encoded: a URL's user part cannot hold it; the server decodes it back.
      '"nats-route://hive:Kq3%2FvR8+pL2mX9wZ4tB7nC1=@10.0.0.2:6222"',
      '"nats-route://hive:Kq3%2FvR8+pL2mX9wZ4tB7nC1=@10.0.0.3:7222"',
      '"nats-route://hive:Kq3%2FvR8+pL2mX9wZ4tB7nC1=@[fd00::4]:6222"',
      ']',
      '}',
    ]);
    expect(serverAccepts(r.stdout).status).toBe(0);
  });

  it('sums the configuration up on its first line without the secret, for the log', () => {
    const first = render(member).stdout.split('\n')[0];
    expect(first).toBe(
      `# hive scopehive as ${member.BALENA_DEVICE_UUID}: 3 seed route(s), advertised as 10.0.0.1:6222, TLS off, JetStream true`,
    );
  });

  it('takes the node name, cluster name and advanced ports from the environment', () => {
    const r = render({
      ...member,
      SCOPEHIVE_NODE_NAME: 'orin-1',
      SCOPEHIVE_HIVE_NAME: 'lab-b',
      SCOPEHIVE_HIVE_ADVERTISE: 'orin-1.lab:16222',
      SCOPEHIVE_NATS_HOST: '127.0.0.1',
      SCOPEHIVE_NATS_PORT: '14222',
      SCOPEHIVE_HIVE_PORT: '16222',
      SCOPEHIVE_NATS_MONITOR_PORT: '18222',
      SCOPEHIVE_NATS_STORE: `${tmp}/store`,
    });
    expect(r.stderr).toBe('');
    const l = lines(r.stdout);
    for (const line of [
      'server_name: "orin-1"',
      'host: "127.0.0.1"',
      'port: 14222',
      'http: "127.0.0.1:18222"',
      `store_dir: "${tmp}/store"`,
      'name: "lab-b"',
      'port: 16222',
      'advertise: "orin-1.lab:16222"',
    ])
      expect(l).toContain(line);
    expect(serverAccepts(r.stdout).status).toBe(0);
  });

  it('makes a node without storage with SCOPEHIVE_HIVE_JETSTREAM=false', () => {
    const r = render({ ...member, SCOPEHIVE_HIVE_JETSTREAM: 'false' });
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('jetstream {');
    expect(r.stdout).toContain('cluster {');
    expect(serverAccepts(r.stdout).status).toBe(0);
  });

  it('adds mutually verified TLS to the routes with all three files', () => {
    const tls = tlsFiles();
    const r = render({ ...member, ...tls });
    expect(r.stderr).toBe('');
    const l = lines(r.stdout);
    const block = l.slice(l.indexOf('tls {'), l.indexOf('tls {') + 7);
    expect(block).toEqual([
      'tls {',
      `cert_file: "${tls.SCOPEHIVE_HIVE_TLS_CERT}"`,
      `key_file: "${tls.SCOPEHIVE_HIVE_TLS_KEY}"`,
      `ca_file: "${tls.SCOPEHIVE_HIVE_TLS_CA}"`,
      'verify: true',
      'timeout: 2',
      '}',
    ]);
    expect(r.stdout.split('\n')[0]).toContain('TLS on');
    const parsed = serverAccepts(r.stdout);
    expect(parsed.stderr).toMatch(/is valid/);
    expect(parsed.status).toBe(0);
  });

  const refused: Array<[string, string, Record<string, string>]> = [
    ['no secret', 'SCOPEHIVE_HIVE_SECRET', { SCOPEHIVE_HIVE_SECRET: '' }],
    [
      'a secret of 23 characters',
      'SCOPEHIVE_HIVE_SECRET',
      { SCOPEHIVE_HIVE_SECRET: 'Kq3vR8pL2mX9wZ4tB7nC1xy' },
    ],
    [
      'a secret of one repeated character',
      'SCOPEHIVE_HIVE_SECRET',
      { SCOPEHIVE_HIVE_SECRET: 'x'.repeat(40) },
    ],
    ['a secret with a space', 'SCOPEHIVE_HIVE_SECRET', { SCOPEHIVE_HIVE_SECRET: `${secret} more` }],
    ['a secret with a quote', 'SCOPEHIVE_HIVE_SECRET', { SCOPEHIVE_HIVE_SECRET: `${secret}"}` }],
    ['a secret with a newline', 'SCOPEHIVE_HIVE_SECRET', { SCOPEHIVE_HIVE_SECRET: `${secret}\nport: 1` }],
    ['a secret with a $ variable', 'SCOPEHIVE_HIVE_SECRET', { SCOPEHIVE_HIVE_SECRET: `${secret}$HOME` }],
    ['a secret with an @', 'SCOPEHIVE_HIVE_SECRET', { SCOPEHIVE_HIVE_SECRET: `${secret}@evil` }],
    ['a missing advertised address', 'SCOPEHIVE_HIVE_ADVERTISE', { SCOPEHIVE_HIVE_ADVERTISE: '' }],
    [
      'a quote in the advertised address',
      'SCOPEHIVE_HIVE_ADVERTISE',
      { SCOPEHIVE_HIVE_ADVERTISE: '10.0.0.1"' },
    ],
    ['no node name', 'SCOPEHIVE_NODE_NAME', { BALENA_DEVICE_UUID: '' }],
    ['a brace in the node name', 'SCOPEHIVE_NODE_NAME', { SCOPEHIVE_NODE_NAME: 'a}b' }],
    ['a space in the cluster name', 'SCOPEHIVE_HIVE_NAME', { SCOPEHIVE_HIVE_NAME: 'lab b' }],
    ['a newline in the cluster name', 'SCOPEHIVE_HIVE_NAME', { SCOPEHIVE_HIVE_NAME: 'lab\n}' }],
    ['a seed with a scheme', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: 'nats-route://10.0.0.2:6222' }],
    ['a seed with credentials', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: 'u:p@10.0.0.2' }],
    ['a seed with a quote', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: '10.0.0.2"]' }],
    ['a seed with a brace', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: '10.0.0.2}' }],
    ['a seed with a bad port', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: '10.0.0.2:70000' }],
    ['a seed with IPv6 outside brackets', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: 'fd00::1:6222' }],
    ['a wildcard seed', 'SCOPEHIVE_HIVE_SEEDS', { SCOPEHIVE_HIVE_SEEDS: '*' }],
    [
      'a TLS certificate without key and CA',
      'SCOPEHIVE_HIVE_TLS_KEY',
      { SCOPEHIVE_HIVE_TLS_CERT: '/etc/hostname' },
    ],
    ['a TLS key without certificate', 'SCOPEHIVE_HIVE_TLS_CERT', { SCOPEHIVE_HIVE_TLS_KEY: '/etc/hostname' }],
    [
      'a TLS file that is not there',
      'SCOPEHIVE_HIVE_TLS_CA',
      {
        SCOPEHIVE_HIVE_TLS_CERT: '/etc/hostname',
        SCOPEHIVE_HIVE_TLS_KEY: '/etc/hostname',
        SCOPEHIVE_HIVE_TLS_CA: '/nonexistent/ca.pem',
      },
    ],
    ['a relative TLS path', 'SCOPEHIVE_HIVE_TLS_CERT', { SCOPEHIVE_HIVE_TLS_CERT: 'node.pem' }],
    [
      'a JetStream switch that is neither true nor false',
      'SCOPEHIVE_HIVE_JETSTREAM',
      { SCOPEHIVE_HIVE_JETSTREAM: 'yes' },
    ],
    ['a store path with a space', 'SCOPEHIVE_NATS_STORE', { SCOPEHIVE_NATS_STORE: '/data/jet stream' }],
    ['a relative store path', 'SCOPEHIVE_NATS_STORE', { SCOPEHIVE_NATS_STORE: 'jetstream' }],
    ['a client port that is not a number', 'SCOPEHIVE_NATS_PORT', { SCOPEHIVE_NATS_PORT: '4222}' }],
    ['a route port of 0', 'SCOPEHIVE_HIVE_PORT', { SCOPEHIVE_HIVE_PORT: '0' }],
    [
      'a monitoring port out of range',
      'SCOPEHIVE_NATS_MONITOR_PORT',
      { SCOPEHIVE_NATS_MONITOR_PORT: '65536' },
    ],
    ['a listen address with a quote', 'SCOPEHIVE_NATS_HOST', { SCOPEHIVE_NATS_HOST: '0.0.0.0"' }],
  ];

  it.each(refused)('refuses %s with one line naming %s, never the secret', (_what, variable, env) => {
    const r = render({ ...member, ...env });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.startsWith(`render-config: ${variable}`)).toBe(true);
    const given = env.SCOPEHIVE_HIVE_SECRET ?? secret;
    if (given !== '') expect(r.stderr).not.toContain(given);
    expect(r.stderr).not.toContain(secret);
  });

  it('refuses hostile values even where a hive of one would use them', () => {
    for (const [variable, value] of [
      ['SCOPEHIVE_NODE_NAME', 'a"\nhttp: 0.0.0.0:1'],
      ['SCOPEHIVE_NATS_STORE', '/data/x"}'],
      ['SCOPEHIVE_HIVE_JETSTREAM', 'maybe'],
    ]) {
      const r = render({ [variable]: value });
      expect(r.status, variable).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), variable).toHaveLength(1);
      expect(r.stderr.startsWith(`render-config: ${variable}`), variable).toBe(true);
    }
  });

  it('does not expand a wildcard seed into file names of the folder it runs in', () => {
    const r = run('sh', ['render-config.sh'], {
      cwd: 'nats',
      env: { PATH: process.env.PATH, ...member, SCOPEHIVE_HIVE_SEEDS: '*' },
    });
    expect(r.status).toBe(2);
  });
});

describe('nats/entrypoint.sh', () => {
  const config = path.join(tmp, 'entrypoint', 'scopehive.conf');
  /** The entrypoint as the container runs it, with the real nats-server on the PATH and loopback ports. */
  const start = async (env: Record<string, string>) => ({
    PATH: `${path.dirname(findNatsServer())}:${process.env.PATH}`,
    SCOPEHIVE_NATS_CONFIG: config,
    SCOPEHIVE_NATS_HOST: '127.0.0.1',
    SCOPEHIVE_NATS_PORT: String(await freePort()),
    SCOPEHIVE_HIVE_PORT: String(await freePort()),
    SCOPEHIVE_NATS_MONITOR_PORT: String(await freePort()),
    SCOPEHIVE_NATS_STORE: path.join(tmp, 'entrypoint-store'),
    ...env,
  });

  it('writes the configuration for root only, logs its summary and hands over to nats-server', async () => {
    const env = await start({
      ...member,
      SCOPEHIVE_HIVE_SEEDS: '127.0.0.1:1',
      SCOPEHIVE_HIVE_ADVERTISE: '127.0.0.1',
    });
    const proc = spawn('sh', ['nats/entrypoint.sh'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes('Server is ready') && Date.now() < deadline && proc.exitCode === null)
        await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('Server is ready');
      expect(out).toMatch(
        /^\S+Z nats: hive scopehive as 0123456789abcdef0123456789abcdef: 1 seed route\(s\), /,
      );
      expect(out).not.toContain(secret);
      expect(statSync(config).mode & 0o777).toBe(0o600);
      expect(readFileSync(config, 'utf8')).toBe(render(env).stdout);
      const health = run('sh', ['nats/nats-healthcheck.sh'], { env });
      expect(health.status).toBe(0);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses with the one line of render-config.sh and starts nothing', async () => {
    rmSync(config, { force: true });
    const r = run('sh', ['nats/entrypoint.sh'], {
      env: await start({ ...member, SCOPEHIVE_HIVE_SECRET: 'short' }),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^render-config: SCOPEHIVE_HIVE_SECRET is too weak \(shorter than 24 characters\); [^\n]*\n$/,
    );
    expect(r.stdout).toBe('');
    expect(() => statSync(config)).toThrow();
  });
});

interface ComposeService {
  build?: { context: string; dockerfile?: string };
  image?: string;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: unknown };
}

describe('the nats service in docker-compose.yml', () => {
  const nats = readYaml<{ services: Record<string, ComposeService> }>('docker-compose.yml').services.nats;

  it('builds the container from nats/, JetStream on its named volume', () => {
    expect(nats.build).toEqual({ context: './nats', dockerfile: 'Dockerfile.template' });
    expect(nats.image).toBeUndefined();
    expect(nats.volumes).toEqual(['jetstream:/data/jetstream']);
    expect(nats.healthcheck?.test).toEqual(['CMD', '/usr/local/bin/nats-healthcheck.sh']);
  });

  it('publishes the route port on the LAN and keeps clients and monitoring on the app network', () => {
    expect(nats.ports).toEqual(['6222:6222/tcp']);
    expect(nats.expose).toEqual(['4222', '8222']);
  });
});

describe('balena.yml', () => {
  it('defaults the hive settings that are safe to share and leaves the secret to the fleet', () => {
    const vars = Object.assign(
      {},
      ...readYaml<{ data: { applicationEnvironmentVariables: Array<Record<string, string>> } }>('balena.yml')
        .data.applicationEnvironmentVariables,
    ) as Record<string, string>;
    expect(vars).toMatchObject({ SCOPEHIVE_HIVE_NAME: 'scopehive', SCOPEHIVE_HIVE_JETSTREAM: 'true' });
    expect(
      Object.keys(vars)
        .filter((k) => k.startsWith('SCOPEHIVE_HIVE_'))
        .sort(),
    ).toEqual(['SCOPEHIVE_HIVE_JETSTREAM', 'SCOPEHIVE_HIVE_NAME']);
  });
});
