import { randomBytes } from 'node:crypto';
import { type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { isUnanswered } from '../queue/jetstream/errors.ts';

/** Replicas of the hive's streams and buckets: three once three JetStream servers are present. */
export type HiveReplicas = 1 | 3;

/**
 * How many replicas the hive's streams and buckets get: 3 once the cluster has three JetStream
 * servers (a stream then survives losing any one of them), 1 below that (a hive of one or two).
 * A client cannot list the cluster's JetStream servers, so this asks the server to place a small
 * three-replica probe stream and counts where it went: the server refuses it, or (nats-server 2.9
 * outside a cluster) places it on itself alone. The probe lives in memory and is deleted at once.
 */
export async function hiveReplicas(jsm: JetStreamManager): Promise<HiveReplicas> {
  const id = randomBytes(6).toString('hex');
  const name = `SCOPEHIVE_REPLICAS_PROBE_${id}`;
  let info: Awaited<ReturnType<JetStreamManager['streams']['add']>>;
  try {
    info = await jsm.streams.add({
      name,
      subjects: [`scopehive.probe.${id}`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
      num_replicas: 3,
      max_msgs: 1,
    });
  } catch (err) {
    // Unanswered is not an answer: a busy three-server hive taken for a one-server one would make
    // every stream with a single replica. The caller tries again (untilAnswered); the probe, if the
    // server made it after all, is removed on the way.
    if (isUnanswered(err)) {
      await jsm.streams.delete(name).catch(() => undefined);
      throw err;
    }
    // Refused (insufficient resources, not clustered): fewer than three servers can hold a replica.
    return 1;
  }
  await jsm.streams.delete(name).catch(() => undefined);
  const placed = 1 + (info.cluster?.replicas?.length ?? 0);
  return placed >= 3 ? 3 : 1;
}
