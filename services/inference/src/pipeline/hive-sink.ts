import type { JetStreamClient, Job, Logger } from '@scopehive/shared';
import { publishRejection, publishResult } from '@scopehive/shared/hive';
import type { ImageRejection } from '../image/rejection.ts';
import { encodeLabelPng } from '../results/label-image.ts';
import type { HiveMetrics } from './hive-metrics.ts';
import type { LocalShare } from './local-share.ts';
import type { AnalysisResult, ResultSink } from './stages.ts';

export interface HiveSinkOptions {
  /** This node's name: results of jobs with this origin are written to the share. */
  node: string;
  /** This node's share; none on a worker-only node. */
  share?: LocalShare;
  js: JetStreamClient;
  logger: Logger;
  /** Called after a result of this node's own image is written (its bytes leave the store once all are in). */
  ownWritten?: (job: Job) => Promise<void>;
  /** Times each result sent back to its origin. */
  transfers?: Pick<HiveMetrics, 'timed'>;
}

/**
 * Results in the hive: the origin's own to its share, every other node's back to that node through
 * the results stream, where its writer takes them (atomically and idempotently, as here).
 */
export class HiveSink implements ResultSink {
  constructor(private readonly opts: HiveSinkOptions) {}

  /**
   * Another node's ledger is not readable from here: its jobs are analysed, and a result it already
   * has is harmless (its writer keeps one current set of rows).
   */
  isDone(job: Job, imageSha256: string): Promise<boolean> {
    const { share } = this.opts;
    if (share && this.#own(job)) return share.isDone(job, imageSha256);
    return Promise.resolve(false);
  }

  async write(result: AnalysisResult, job: Job): Promise<void> {
    const { share, js, logger } = this.opts;
    if (share && this.#own(job)) {
      await share.write(result);
      await this.opts.ownWritten?.(job);
      return;
    }
    const { doc, annotated } = result;
    const labels = result.labels && (await encodeLabelPng(result.labels, doc.image.width, doc.image.height));
    const send = () => publishResult(js, { job, doc, annotated, labels }, { log: logger });
    await (this.opts.transfers?.timed('result', send) ?? send());
  }

  /** Another node's image is set aside on its own share: the rejection travels back like a result. */
  async reject(job: Job, rejection: ImageRejection): Promise<void> {
    const { share, js, logger, node } = this.opts;
    if (share && this.#own(job)) return share.reject(job, rejection);
    await publishRejection(
      js,
      { job, reason: rejection.reason, message: rejection.message, node },
      { log: logger },
    );
  }

  #own(job: Job): boolean {
    return job.origin === this.opts.node;
  }
}
