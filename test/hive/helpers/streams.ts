/**
 * What the hive's JetStream holds, read from outside the nodes as an operator would with `nats`:
 * the jobs a model's consumer has handed out and not had acknowledged, the jobs still in the
 * stream, the results waiting for an origin, and which server leads a stream.
 */
import { type ClusterInfo, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { LoopbackCluster } from '../../../scripts/hive/loopback-cluster.ts';
import { RESULTS_STREAM, resultsSubject } from '../../../shared/src/hive/results.ts';

const JOBS_STREAM = 'SCOPEHIVE_JOBS';

export class HiveStreams {
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async open(urls: string): Promise<HiveStreams> {
    const nc = await connect({ servers: urls.split(','), name: 'hive-test-observer' });
    return new HiveStreams(nc, await jetstreamManager(nc, { timeout: 5000 }));
  }

  /** Jobs of `model` delivered to some node and not yet acknowledged. */
  async unacknowledged(model: string): Promise<number> {
    const info = await this.jsm.consumers.info(JOBS_STREAM, `inference-${model}`);
    return info.num_ack_pending;
  }

  /** Jobs still in the work-queue stream (delivered or not). */
  async jobsLeft(): Promise<number> {
    return (await this.jsm.streams.info(JOBS_STREAM)).state.messages;
  }

  /** Results in the stream for `origin`, waiting for its writer. */
  async resultsWaiting(origin: string): Promise<number> {
    const info = await this.jsm.streams.info(RESULTS_STREAM, { subjects_filter: resultsSubject(origin) });
    return info.state.subjects?.[resultsSubject(origin)] ?? 0;
  }

  /** The server name leading `stream` (a replica-1 stream lives on that server alone). */
  async leaderOf(stream: string): Promise<string | undefined> {
    return (await this.jsm.streams.info(stream)).cluster?.leader;
  }

  /** Every server of `cluster` routed to the other two (a restarted one has rejoined). */
  async routesUp(cluster: LoopbackCluster): Promise<boolean> {
    for (const server of cluster.servers) {
      const res = await fetch(`http://127.0.0.1:${server.monitorPort}/routez`).catch(() => undefined);
      const routez = res?.ok ? ((await res.json()) as { num_routes: number }) : undefined;
      if (routez?.num_routes !== cluster.servers.length - 1) return false;
    }
    return (await this.leaderOf(JOBS_STREAM).catch(() => undefined)) !== undefined;
  }

  /**
   * Every stream and consumer has a leader and all its replicas current (caught up). A server that
   * rejoined after a restart is only back in the hive once this holds: stopping another one before
   * would leave some replica groups with one current member out of three.
   */
  async replicasCurrent(): Promise<boolean> {
    const current = (cluster: ClusterInfo | undefined, replicas: number) =>
      Boolean(cluster?.leader) &&
      (cluster?.replicas ?? []).filter((r) => r.current && !r.offline).length === replicas - 1;
    for await (const stream of this.jsm.streams.list()) {
      const replicas = stream.config.num_replicas || 1;
      if (!current(stream.cluster, replicas)) return false;
      for await (const consumer of this.jsm.consumers.list(stream.config.name)) {
        if (!current(consumer.cluster, consumer.config.num_replicas || replicas)) return false;
      }
    }
    return true;
  }

  /** Names (SHA-256) of the image objects still in the hive's image store. */
  async storedImages(): Promise<string[]> {
    const store = await new Objm(this.nc).open('scopehive-images');
    return (await store.list()).map((info) => info.name);
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
