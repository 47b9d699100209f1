import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoopbackCluster, startLoopbackCluster } from '../../../scripts/hive/loopback-cluster.ts';
import { hiveReplicas } from '../../src/hive/replicas.ts';
import { ensureResultsStream, RESULTS_STREAM } from '../../src/hive/results.ts';
import { ensureStream } from '../../src/queue/jetstream/provision.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

/**
 * "Streams and buckets use three replicas once three JetStream servers are present, one below
 * that": on real servers, a single one, a cluster of two and one of three.
 */
async function succeeds(attempt: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

describe('hive replicas follow the cluster', () => {
  const clusters: LoopbackCluster[] = [];
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.close()));
  });

  async function jsmOn(url: string) {
    const nc = await connect({ servers: url.split(','), maxReconnectAttempts: -1 });
    return { nc, jsm: await jetstreamManager(nc) };
  }

  it('one server: 1 (and the probe leaves nothing behind)', async () => {
    const server = await startNatsServer();
    const { nc, jsm } = await jsmOn(server.url);
    try {
      expect(await hiveReplicas(jsm)).toBe(1);
      const names: string[] = [];
      for await (const name of jsm.streams.names()) names.push(name);
      expect(names).toEqual([]);
    } finally {
      await nc.close();
      await server.close();
    }
  });

  it('a server that does not answer: an error to try again on, never 1', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 500 });
      await server.stop();
      await expect(hiveReplicas(jsm)).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      await nc.close();
      await server.close();
    }
  });

  it('two JetStream servers: 1', async () => {
    const cluster = await startLoopbackCluster({ size: 2 });
    clusters.push(cluster);
    const { nc, jsm } = await jsmOn(cluster.servers[0].url);
    try {
      expect(await hiveReplicas(jsm)).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it('three JetStream servers: 3, and the job and results streams are placed on all three', async () => {
    const cluster = await startLoopbackCluster({ size: 3 });
    clusters.push(cluster);
    const { nc, jsm } = await jsmOn(cluster.servers[1].url);
    try {
      expect(await hiveReplicas(jsm)).toBe(3);
      await ensureStream(jsm, {
        stream: 'SCOPEHIVE_JOBS',
        subjectPrefix: 'scopehive.jobs',
        duplicateWindowMs: 60_000,
      });
      await ensureResultsStream(jsm);
      for (const stream of ['SCOPEHIVE_JOBS', RESULTS_STREAM]) {
        const info = await jsm.streams.info(stream);
        expect(info.config.num_replicas, stream).toBe(3);
        expect(1 + (info.cluster?.replicas?.length ?? 0), stream).toBe(3);
      }
    } finally {
      await nc.close();
    }
  });

  it('never lowers replicas while a server is down (the cluster only looks smaller)', async () => {
    const cluster = await startLoopbackCluster({ size: 3 });
    clusters.push(cluster);
    const { nc, jsm } = await jsmOn(cluster.urls);
    const jobs = { stream: 'SCOPEHIVE_JOBS', subjectPrefix: 'scopehive.jobs', duplicateWindowMs: 60_000 };
    try {
      await ensureStream(jsm, jobs);
      await ensureResultsStream(jsm);
      await cluster.servers[2].stop();
      // What a process does on reconnecting: the probe now finds two servers. (Requests go
      // unanswered until the cluster has elected leaders again: tried until they are.)
      await succeeds(async () => expect(await hiveReplicas(jsm)).toBe(1));
      await succeeds(() => ensureStream(jsm, jobs));
      await succeeds(() => ensureResultsStream(jsm));
      for (const stream of ['SCOPEHIVE_JOBS', RESULTS_STREAM])
        expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
    } finally {
      await nc.close();
    }
  }, 180_000);
});
