import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNatsServer, freePort } from '../../shared/test/helpers/nats-server.ts';

/**
 * The hive's topology for real: nats-server processes on loopback, each configured by
 * nats/render-config.sh from the environment a device would have, every one given the same seed
 * list (itself included, as one fleet-wide variable does).
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// The base64 alphabet's `/`, `+` and `=` all travel in the route URLs.
const secret = 'q7/Vx+2LmN9pR4sT8wZ0aB3cD6eF1g=';
const wrongSecret = 'Zz9/Yy8+Xx7Ww6Vv5Uu4Tt3Ss2Rr1=';

interface Node {
  name: string;
  clientPort: number;
  routePort: number;
  monitorPort: number;
  dir: string;
  proc: ChildProcess;
  log: () => string;
}

const nodes: Node[] = [];
const dirs: string[] = [];

async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `scopehive-hive-${name}-`));
  dirs.push(dir);
  const clientPort = await freePort();
  const monitorPort = await freePort();
  const routePort = Number(env.SCOPEHIVE_HIVE_PORT);
  const rendered = spawnSync('sh', [path.join(repoRoot, 'nats/render-config.sh')], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      SCOPEHIVE_NODE_NAME: name,
      SCOPEHIVE_NATS_HOST: '127.0.0.1',
      SCOPEHIVE_NATS_PORT: String(clientPort),
      SCOPEHIVE_NATS_MONITOR_PORT: String(monitorPort),
      SCOPEHIVE_NATS_STORE: path.join(dir, 'store'),
      SCOPEHIVE_HIVE_ADVERTISE: `127.0.0.1:${routePort}`,
      ...env,
    },
  });
  if (rendered.status !== 0) throw new Error(`render-config.sh refused: ${rendered.stderr}`);
  const config = path.join(dir, 'nats.conf');
  writeFileSync(config, rendered.stdout, { mode: 0o600 });
  const proc = spawn(findNatsServer(), ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    if (log.length < 200_000) log += chunk;
  });
  const node = { name, clientPort, routePort, monitorPort, dir, proc, log: () => log };
  nodes.push(node);
  await waitFor(`${name} to listen`, () => log.includes('Server is ready')).catch((err: Error) => {
    throw new Error(`${err.message}; its log:\n${log}`);
  });
  return node;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function monitor<T>(node: Node, endpoint: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${node.monitorPort}/${endpoint}`);
  return (await res.json()) as T;
}

const routeCount = async (node: Node) => (await monitor<{ num_routes: number }>(node, 'routez')).num_routes;
const monitorText = async (node: Node, endpoint: string) =>
  (await fetch(`http://127.0.0.1:${node.monitorPort}/${endpoint}`)).text();

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

describe('the hive: nats-server cluster configured by nats/render-config.sh', () => {
  let hive: Node[];
  let seeds: string;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    const routePorts = [await freePort(), await freePort(), await freePort()];
    seeds = routePorts.map((p) => `127.0.0.1:${p}`).join(', ');
    hive = await Promise.all(
      ['node-a', 'node-b', 'node-c'].map((name, i) =>
        startNode(name, {
          SCOPEHIVE_HIVE_SEEDS: seeds,
          SCOPEHIVE_HIVE_SECRET: secret,
          SCOPEHIVE_HIVE_PORT: String(routePorts[i]),
        }),
      ),
    );
  });

  afterAll(async () => {
    await nc?.close();
    await Promise.all(nodes.map((n) => stop(n.proc)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('meshes three servers, each routed to the other two', async () => {
    for (const node of hive)
      await waitFor(`${node.name} to see two routes`, async () => (await routeCount(node)) === 2);
    // Servers before 2.10 do not name a route's remote server in /routez: match it by server id.
    const ids = await Promise.all(
      hive.map(async (n) => (await monitor<{ server_id: string }>(n, 'varz')).server_id),
    );
    for (const [i, node] of hive.entries()) {
      const routez = await monitor<{ routes: Array<{ remote_id: string }> }>(node, 'routez');
      const remotes = routez.routes.map((r) => r.remote_id).sort();
      expect(remotes, node.name).toEqual(ids.filter((_id, j) => j !== i).sort());
    }
  });

  it('places a three-replica JetStream stream on the three servers', async () => {
    nc = await connect({ servers: `nats://127.0.0.1:${hive[0].clientPort}` });
    const client = nc;
    // The meta group elects its leader after the routes are up: until then requests go unanswered.
    await waitFor(
      'JetStream to accept a three-replica stream',
      async () => {
        try {
          const jsm = await jetstreamManager(client, { timeout: 2000 });
          await jsm.streams.add({ name: 'HIVE_TEST', subjects: ['hive.test.>'], num_replicas: 3 });
          return true;
        } catch {
          return false;
        }
      },
      30_000,
    );
    const jsm = await jetstreamManager(client);
    let placed: string[] = [];
    await waitFor('the stream to have a leader and two current replicas', async () => {
      const info = await jsm.streams.info('HIVE_TEST');
      const replicas = info.cluster?.replicas ?? [];
      placed = [info.cluster?.leader ?? '', ...replicas.map((r) => r.name)].filter(Boolean).sort();
      return placed.length === 3 && replicas.every((r) => r.current);
    });
    expect(placed).toEqual(['node-a', 'node-b', 'node-c']);
  });

  it('refuses a server with the wrong secret: no route, an authorization error in the logs', async () => {
    const intruder = await startNode('node-x', {
      SCOPEHIVE_HIVE_SEEDS: seeds,
      SCOPEHIVE_HIVE_SECRET: wrongSecret,
      SCOPEHIVE_HIVE_PORT: String(await freePort()),
    });
    // nats-server's own lines: the intruder is told, the hive says whom it turned away.
    await waitFor('the intruder to be told it is not authorised', () =>
      intruder.log().includes("Route Error 'Authorization Violation'"),
    );
    await waitFor('the hive to log the refused route', () =>
      hive.some((n) => /- rid:\d+ - authentication error/.test(n.log())),
    );
    expect(await routeCount(intruder)).toBe(0);
    for (const node of hive) expect(await routeCount(node)).toBe(2);
  });

  it('takes a node without storage into the hive; its clients still reach JetStream', async () => {
    const light = await startNode('node-light', {
      SCOPEHIVE_HIVE_SEEDS: seeds,
      SCOPEHIVE_HIVE_SECRET: secret,
      SCOPEHIVE_HIVE_PORT: String(await freePort()),
      SCOPEHIVE_HIVE_JETSTREAM: 'false',
    });
    await waitFor('the light node to see three routes', async () => (await routeCount(light)) === 3);
    const jsz = await monitor<{ config?: unknown; disabled?: boolean }>(light, 'jsz');
    expect(jsz.disabled ?? jsz.config === undefined).toBe(true);
    const client = await connect({ servers: `nats://127.0.0.1:${light.clientPort}` });
    try {
      const info = await (await jetstreamManager(client)).streams.info('HIVE_TEST');
      expect(info.config.num_replicas).toBe(3);
    } finally {
      await client.close();
    }
  });

  it('never shows the secret in a log or on the monitoring port', async () => {
    const forms = [secret, wrongSecret, encodeURIComponent(secret), encodeURIComponent(wrongSecret)];
    for (const node of nodes) {
      const pages = await Promise.all(['varz', 'routez', 'jsz'].map((e) => monitorText(node, e)));
      for (const text of [node.log(), ...pages]) {
        for (const form of forms) expect(text.includes(form), node.name).toBe(false);
      }
    }
  });
});
