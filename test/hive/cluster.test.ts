import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterServer,
  type LoopbackCluster,
  startLoopbackCluster,
} from '../../scripts/hive/loopback-cluster.ts';

/**
 * The hive's topology for real: nats-server processes on loopback, each configured by
 * nats/render-config.sh from the environment a device would have, every one given the same seed
 * list (itself included, as one fleet-wide variable does).
 */

// The base64 alphabet's `/`, `+` and `=` all travel in the route URLs.
const secret = 'q7/Vx+2LmN9pR4sT8wZ0aB3cD6eF1g=';
const wrongSecret = 'Zz9/Yy8+Xx7Ww6Vv5Uu4Tt3Ss2Rr1=';

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
  logs: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function monitor<T>(server: ClusterServer, endpoint: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/${endpoint}`);
  return (await res.json()) as T;
}

const routeCount = async (server: ClusterServer) =>
  (await monitor<{ num_routes: number }>(server, 'routez')).num_routes;
const monitorText = async (server: ClusterServer, endpoint: string) =>
  (await fetch(`http://127.0.0.1:${server.monitorPort}/${endpoint}`)).text();
const logOf = (server: ClusterServer) => () => `; ${server.name}'s log:\n${server.log().slice(-4000)}`;

describe('the hive: nats-server cluster configured by nats/render-config.sh', () => {
  let cluster: LoopbackCluster;
  let hive: ClusterServer[];
  const extras: ClusterServer[] = [];
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    cluster = await startLoopbackCluster({ size: 3, secret });
    hive = cluster.servers;
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.close();
  });

  it('meshes three servers, each routed to the other two', async () => {
    for (const server of hive)
      await waitFor(`${server.name} to see two routes`, async () => (await routeCount(server)) === 2);
    // Servers before 2.10 do not name a route's remote server in /routez: match it by server id.
    const ids = await Promise.all(
      hive.map(async (s) => (await monitor<{ server_id: string }>(s, 'varz')).server_id),
    );
    for (const [i, server] of hive.entries()) {
      const routez = await monitor<{ routes: Array<{ remote_id: string }> }>(server, 'routez');
      const remotes = routez.routes.map((r) => r.remote_id).sort();
      expect(remotes, server.name).toEqual(ids.filter((_id, j) => j !== i).sort());
    }
  });

  it('places a three-replica JetStream stream on the three servers', async () => {
    nc = await connect({ servers: hive[0].url });
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
    expect(placed).toEqual(hive.map((s) => s.name).sort());
  });

  it('refuses a server with the wrong secret: no route, an authorization error in the logs', async () => {
    const intruder = await cluster.extra('node-x', { SCOPEHIVE_HIVE_SECRET: wrongSecret });
    extras.push(intruder);
    // nats-server's own lines: the intruder is told, the hive says whom it turned away.
    await waitFor(
      'the intruder to be told it is not authorised',
      () => intruder.log().includes("Route Error 'Authorization Violation'"),
      20_000,
      logOf(intruder),
    );
    await waitFor('the hive to log the refused route', () =>
      hive.some((s) => /- rid:\d+ - authentication error/.test(s.log())),
    );
    expect(await routeCount(intruder)).toBe(0);
    for (const server of hive) expect(await routeCount(server)).toBe(2);
  });

  it('takes a node without storage into the hive; its clients still reach JetStream', async () => {
    const light = await cluster.extra('node-light', { SCOPEHIVE_HIVE_JETSTREAM: 'false' });
    extras.push(light);
    await waitFor(
      'the light node to see three routes',
      async () => (await routeCount(light)) === 3,
      20_000,
      logOf(light),
    );
    const jsz = await monitor<{ config?: unknown; disabled?: boolean }>(light, 'jsz');
    expect(jsz.disabled ?? jsz.config === undefined).toBe(true);
    const client = await connect({ servers: light.url });
    try {
      const info = await (await jetstreamManager(client)).streams.info('HIVE_TEST');
      expect(info.config.num_replicas).toBe(3);
    } finally {
      await client.close();
    }
  });

  it('never shows the secret in a log or on the monitoring port', async () => {
    const forms = [secret, wrongSecret, encodeURIComponent(secret), encodeURIComponent(wrongSecret)];
    const all = [...hive, ...extras];
    expect(all.map((s) => s.running)).toEqual(all.map(() => true));
    for (const server of all) {
      const pages = await Promise.all(['varz', 'routez', 'jsz'].map((e) => monitorText(server, e)));
      for (const text of [server.log(), ...pages]) {
        for (const form of forms) expect(text.includes(form), server.name).toBe(false);
      }
    }
  });
});
