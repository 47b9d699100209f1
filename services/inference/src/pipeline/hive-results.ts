import type { JetStreamClient, Job, Logger, ModelRef } from '@scopehive/shared';
import {
  consumeResults,
  type HiveRejection,
  type HiveResult,
  type ImageStore,
  type ResultsConsumer,
} from '@scopehive/shared/hive';
import { ImageRejection, REJECT_REASONS, type RejectReason } from '../image/rejection.ts';
import { decodeLabelPng } from '../results/label-image.ts';
import type { LocalShare } from './local-share.ts';

export interface HiveResultsWriterOptions {
  /** This node: the origin whose results are taken. */
  node: string;
  js: JetStreamClient;
  share: Pick<LocalShare, 'write' | 'isDone' | 'reject'>;
  images: Pick<ImageStore, 'remove'>;
  /** The models jobs are made for: the image's bytes are kept until each has its result. */
  models: () => readonly ModelRef[];
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * After a result of this node's image is written (sent back, or analysed here): once every model's
 * result is there, the image's bytes leave the store. Models are the ones jobs are made for now.
 */
export function imageRelease(options: {
  share: Pick<LocalShare, 'isDone'>;
  images: Pick<ImageStore, 'remove'>;
  models: () => readonly ModelRef[];
  logger: Logger;
}): (job: Job) => Promise<void> {
  const { share, images, models, logger } = options;
  return async (job) => {
    const all = models();
    const done = await Promise.all(all.map((model) => share.isDone({ ...job, model }, job.image.sha256)));
    if (all.length === 0 || !done.every(Boolean)) return;
    try {
      await images.remove(job.image.sha256, { node: job.origin, path: job.image.path });
    } catch (err) {
      // Tidying only: the result is written, and must not be failed (and written again) for this.
      logger.warn(
        { image: job.image.path, err: String((err as Error)?.message ?? err) },
        `${job.image.path}: its bytes stay in the hive's image store for now (the store did not answer)`,
      );
    }
  };
}

/**
 * The label image a worker sent, checked; when it could not travel (too large) or is unusable, the
 * result is written without it and its document says so.
 */
export async function receivedLabels({ doc, labels, labelsOmittedBytes }: HiveResult, logger: Logger) {
  const missing = (why: string) => {
    const line = `the label image ${why}; the table's mask measurements stand without it`;
    doc.warnings.push(line);
    logger.warn({ image: doc.image.path, model: doc.model.name, node: doc.node }, line);
    return undefined;
  };
  if (labelsOmittedBytes) {
    return missing(
      `(${labelsOmittedBytes} bytes) was larger than a NATS message may be and stayed on node ${doc.node}`,
    );
  }
  if (!labels) return undefined;
  try {
    return await decodeLabelPng(labels, doc.image.width, doc.image.height);
  } catch (err) {
    return missing(`node ${doc.node} sent is unusable (${(err as Error).message})`);
  }
}

/**
 * The origin's side of the hive: results other nodes analysed come back through the results stream
 * and are written to this node's share like its own (atomic, and harmless when repeated); once every
 * model's result for an image is there, its bytes leave the image store. A file another node found
 * it cannot analyse is set aside here with the reason, as one found here would be.
 */
export function startHiveResultsWriter(options: HiveResultsWriterOptions): ResultsConsumer {
  const { node, js, share, images, logger } = options;
  const release = imageRelease(options);
  const handle = async (result: HiveResult): Promise<void> => {
    const { job, doc, annotated } = result;
    // A job delivered again after its acknowledgement was lost (a server gone) is analysed again
    // elsewhere: its result is written once.
    if (!(await share.isDone(job, job.image.sha256))) {
      await share.write({ doc, annotated, labels: await receivedLabels(result, logger) });
    }
    await release(job);
  };
  // Set aside as if found here; the image is then of no use to the other models' jobs either.
  const onRejection = async ({ job, reason, message, node: by }: HiveRejection): Promise<void> => {
    const where = { image: job.image.path, model: job.model.name, by };
    // A late copy of a job already answered (its image left the store once every result was in).
    if (await share.isDone(job, job.image.sha256)) return;
    if (reason === 'vanished') {
      // The bytes left the store but the file is still here: it is not the file's fault.
      logger.warn(
        where,
        `${job.image.path}: node ${by} found it gone from the hive's image store; left in the inbox`,
      );
      return;
    }
    const known = (REJECT_REASONS as readonly string[]).includes(reason)
      ? (reason as RejectReason)
      : 'failed';
    await share.reject(job, new ImageRejection(known, `${message} (found by node ${by})`));
    await images
      .remove(job.image.sha256, { node: job.origin, path: job.image.path })
      .catch((err: unknown) =>
        logger.warn(
          { ...where, err: String(err) },
          `${job.image.path}: its bytes stay in the hive's image store for now`,
        ),
      );
  };
  return consumeResults(js, node, handle, { log: logger, signal: options.signal, onRejection });
}
