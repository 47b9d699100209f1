import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * Jobs not yet done in the work-queue stream: for every consumer, the jobs it has still to deliver
 * (`num_pending`) and those delivered but not acknowledged (`num_ack_pending`); plus the jobs on
 * subjects no consumer filters on (a model nobody serves yet), which wait for one.
 */
export async function countOutstanding(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: `${subjectPrefix}.>` });
  const served = new Set<string>();
  let count = 0;
  for await (const consumer of jsm.consumers.list(stream)) {
    const { filter_subject, filter_subjects } = consumer.config;
    for (const subject of [filter_subject, ...(filter_subjects ?? [])]) if (subject) served.add(subject);
    count += consumer.num_pending + consumer.num_ack_pending;
  }
  for (const [subject, messages] of Object.entries(info.state.subjects ?? {})) {
    if (!served.has(subject)) count += messages;
  }
  return count;
}

/**
 * Jobs still to be delivered, by model subject token: each model's consumer's `num_pending`, or for
 * a model no consumer serves yet, its subject's message count. Delivered but unacknowledged jobs are
 * in flight, not waiting.
 */
export async function countWaitingByModel(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
): Promise<Map<string, number>> {
  const prefix = `${subjectPrefix}.`;
  const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}>` });
  const waiting = new Map<string, number>();
  const add = (subject: string, count: number) => {
    if (!subject.startsWith(prefix)) return;
    const token = subject.slice(prefix.length);
    waiting.set(token, (waiting.get(token) ?? 0) + count);
  };
  const served = new Set<string>();
  for await (const consumer of jsm.consumers.list(stream)) {
    const { filter_subject } = consumer.config;
    // Every job consumer filters on one model's subject (provision.ts); any other is not ours.
    if (!filter_subject) continue;
    served.add(filter_subject);
    add(filter_subject, consumer.num_pending);
  }
  for (const [subject, messages] of Object.entries(info.state.subjects ?? {})) {
    if (!served.has(subject)) add(subject, messages);
  }
  return waiting;
}
