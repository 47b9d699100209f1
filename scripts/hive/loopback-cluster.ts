/**
 * A real hive's NATS cluster on loopback: `nats-server` processes, each configured by
 * nats/render-config.sh from the environment a device would have (seeds, secret, advertised address),
 * so the simulation and the tests run the configuration the devices run. A server can be stopped,
 * SIGKILLed and started again on its ports and store. Used by `npm run hive:sim` and the hive tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lib/free-port.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ClusterServer {
  readonly name: string;
  /** `nats://127.0.0.1:<port>`, the same across restarts. */
  readonly url: string;
  readonly monitorPort: number;
  readonly routePort: number;
  readonly running: boolean;
  /** Its log so far (stderr), for failure reports. */
  log(): string;
  /** SIGTERM (SIGKILL after 5 s); the store stays. */
  stop(): Promise<void>;
  /** SIGKILL: gone at once, with whatever its store holds. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store. */
  start(): Promise<void>;
}

export interface LoopbackCluster {
  readonly servers: ClusterServer[];
  /** Every server's URL, comma-separated, as `NATS_URL` takes them. */
  readonly urls: string;
  /** The routes' secret the servers share. */
  readonly secret: string;
  /** The seed list every server was given. */
  readonly seeds: string;
  /**
   * One more server configured like the others but with `env` on top (a wrong secret, no
   * JetStream…), waited for until it listens, not until it joins: the caller checks what became of
   * it. Stopped by `close()`.
   */
  extra(name: string, env: Record<string, string>): Promise<ClusterServer>;
  /** Stops every server and removes their stores. */
  close(): Promise<void>;
}

export interface LoopbackClusterOptions {
  /** Servers (default 3). */
  size?: number;
  /** Where the stores go (default a new temporary folder, removed by `close()`). */
  dir?: string;
  /** The routes' secret (default a fresh random one). */
  secret?: string;
  /** Where ports come from (default `freePort`; a test hands out a taken one). */
  ports?: () => Promise<number>;
}

/** The nats-server binary: NATS_SERVER_BIN, else PATH, else Debian's /usr/sbin. */
export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin']) {
    if (!dir) continue;
    const candidate = path.join(dir, 'nats-server');
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate;
  }
  throw new Error('nats-server was not found: install it with `apt-get install nats-server` (npm test does)');
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function monitorJson(port: number, endpoint: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/${endpoint}`);
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

interface ServerPlan {
  name: string;
  clientPort: number;
  routePort: number;
  monitorPort: number;
  store: string;
  env: Record<string, string>;
}

function renderConfig(plan: ServerPlan): string {
  const rendered = spawnSync('sh', [path.join(repoRoot, 'nats/render-config.sh')], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      SCOPEHIVE_NODE_NAME: plan.name,
      SCOPEHIVE_NATS_HOST: '127.0.0.1',
      SCOPEHIVE_NATS_PORT: String(plan.clientPort),
      SCOPEHIVE_NATS_MONITOR_PORT: String(plan.monitorPort),
      SCOPEHIVE_NATS_STORE: plan.store,
      SCOPEHIVE_HIVE_PORT: String(plan.routePort),
      SCOPEHIVE_HIVE_ADVERTISE: `127.0.0.1:${plan.routePort}`,
      ...plan.env,
    },
  });
  if (rendered.status !== 0) throw new Error(`nats/render-config.sh refused: ${rendered.stderr.trim()}`);
  return rendered.stdout;
}

async function makeServer(plan: ServerPlan, configDir: string): Promise<ClusterServer> {
  const configFile = path.join(configDir, `${plan.name}.conf`);
  await fs.writeFile(configFile, renderConfig(plan), { mode: 0o600 });
  const bin = natsServerBinary();
  let proc: ChildProcess | undefined;
  let log = '';
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const isRunning = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  return {
    name: plan.name,
    url: `nats://127.0.0.1:${plan.clientPort}`,
    monitorPort: plan.monitorPort,
    routePort: plan.routePort,
    get running() {
      return isRunning();
    },
    log: () => log,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    async start() {
      if (isRunning()) return;
      const p = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc = p;
      live.add(p);
      p.once('exit', () => live.delete(p));
      // This run's own lines: after a restart the log already holds the last run's "ready".
      let thisRun = '';
      p.stderr?.setEncoding('utf8');
      p.stderr?.on('data', (chunk: string) => {
        log = (log + chunk).slice(-200_000);
        if (thisRun.length < 100_000) thisRun += chunk;
      });
      // nats-server says it is ready once clients can connect, and only then binds the route port:
      // a route port taken meanwhile ends it after "ready" (the log says "address already in use").
      const clustered = Boolean(plan.env.SCOPEHIVE_HIVE_SEEDS);
      await waitUntil(
        `nats-server ${plan.name} to listen`,
        () => {
          if (p.exitCode !== null || p.signalCode !== null)
            throw new Error(`nats-server ${plan.name} exited:\n${thisRun.slice(-4000)}`);
          const ready = thisRun.includes('Server is ready');
          return ready && (!clustered || thisRun.includes('Listening for route connections'));
        },
        20_000,
      );
    },
  };
}

/**
 * Starts `size` servers routed to each other as one hive, with a fresh strong secret, and waits
 * until JetStream's meta group has a leader (before that, JetStream requests go unanswered).
 */
export async function startLoopbackCluster(options: LoopbackClusterOptions = {}): Promise<LoopbackCluster> {
  const size = options.size ?? 3;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-cluster-')));
  const secret = options.secret ?? randomBytes(24).toString('base64');
  const nextPort = options.ports ?? freePort;
  const servers: ClusterServer[] = [];
  const extras: ClusterServer[] = [];
  let seeds = '';
  const plan = async (name: string, routePort: number, env: Record<string, string>): Promise<ServerPlan> => ({
    name,
    routePort,
    clientPort: await nextPort(),
    monitorPort: await nextPort(),
    store: path.join(dir, name),
    env: { SCOPEHIVE_HIVE_SEEDS: seeds, SCOPEHIVE_HIVE_SECRET: secret, ...env },
  });
  const close = async () => {
    await Promise.all([...servers, ...extras].map((s) => s.stop()));
    if (ownDir) await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    // A port found free can be bound by another process before nats-server binds it: then the
    // whole cluster starts again on new ports (the seed list names every route port).
    await withFreshPorts(async () => {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
      const routePorts: number[] = [];
      for (let i = 0; i < size; i++) routePorts.push(await nextPort());
      seeds = routePorts.map((p) => `127.0.0.1:${p}`).join(', ');
      for (const [i, routePort] of routePorts.entries())
        servers.push(await makeServer(await plan(`nats-${i}`, routePort, {}), dir));
      await Promise.all(servers.map((s) => s.start()));
    });
    await waitUntil(
      'the JetStream meta group to elect a leader',
      async () => {
        const jsz = await monitorJson(servers[0].monitorPort, 'jsz');
        const meta = jsz?.meta_cluster as { leader?: string; cluster_size?: number } | undefined;
        return Boolean(meta?.leader) && (meta?.cluster_size ?? 0) >= size;
      },
      30_000,
    );
  } catch (err) {
    await close();
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url).join(','),
    secret,
    seeds,
    async extra(name, env) {
      let server: ClusterServer | undefined;
      await withFreshPorts(async () => {
        await server?.stop();
        server = await makeServer(await plan(name, await nextPort(), env), dir);
        extras.push(server);
        await server.start();
      });
      return server as ClusterServer;
    },
    close,
  };
}

/** Runs `attempt` again (at most five times in all) while it fails because a port was taken. */
async function withFreshPorts(attempt: () => Promise<void>): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (tries >= 5 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}
