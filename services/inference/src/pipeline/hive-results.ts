import {
  consumeResults,
  type HiveResult,
  type ImageStore,
  type JetStreamClient,
  type Logger,
  type ModelRef,
  type ResultsConsumer,
} from '@scopehive/shared';
import type { LocalShare } from './local-share.ts';

export interface HiveResultsWriterOptions {
  /** This node: the origin whose results are taken. */
  node: string;
  js: JetStreamClient;
  share: Pick<LocalShare, 'write' | 'isDone'>;
  images: Pick<ImageStore, 'remove'>;
  /** The models jobs are made for: the image's bytes are kept until each has its result. */
  models: () => readonly ModelRef[];
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * The origin's side of the hive: results other nodes analysed come back through the results stream
 * and are written to this node's share like its own (atomic, and harmless when repeated); once every
 * model's result for an image is there, its bytes leave the image store.
 */
export function startHiveResultsWriter(options: HiveResultsWriterOptions): ResultsConsumer {
  const { node, js, share, images, models, logger } = options;
  const handle = async ({ job, doc, annotated }: HiveResult): Promise<void> => {
    await share.write({ doc, annotated });
    const all = models();
    const done = await Promise.all(all.map((model) => share.isDone({ ...job, model }, job.image.sha256)));
    if (all.length > 0 && done.every(Boolean)) await images.remove(job.image.sha256);
  };
  return consumeResults(js, node, handle, { log: logger, signal: options.signal });
}
