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
