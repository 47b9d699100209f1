import type { Job } from '@scopehive/shared';
import { type ImageStore, isObjectMissing } from '@scopehive/shared/hive';
import { ImageRejection } from '../image/rejection.ts';
import type { HiveMetrics } from './hive-metrics.ts';
import type { LocalShare } from './local-share.ts';
import type { FolderSettings, ImageSource } from './stages.ts';

export interface HiveSourceOptions {
  /** This node's name: jobs with this origin are read from the share. */
  node: string;
  /** This node's share; none on a worker-only node, whose every job comes from elsewhere. */
  share?: LocalShare;
  images: Pick<ImageStore, 'read'>;
  /** Times each image fetched from the store. */
  transfers?: Pick<HiveMetrics, 'timed'>;
}

/**
 * Image bytes in the hive: the origin's own images straight from its share, every other node's from
 * the image store (fetched by SHA-256, checked). Another node's folder settings (`scopehive.json`)
 * stay on its share and are not applied here.
 */
export class HiveSource implements ImageSource {
  constructor(private readonly opts: HiveSourceOptions) {}

  async read(job: Job): Promise<Buffer> {
    const { share, images } = this.opts;
    if (share && this.#own(job)) return share.read(job);
    try {
      const fetch = () => images.read(job.image.sha256, { node: job.origin, path: job.image.path });
      return await (this.opts.transfers?.timed('image', fetch) ?? fetch());
    } catch (err) {
      // Removed once its results were written, or never stored: there is nothing left to analyse.
      if (isObjectMissing(err))
        throw new ImageRejection('vanished', 'the image is no longer in the hive image store');
      throw err;
    }
  }

  folderSettings(job: Job): Promise<FolderSettings> {
    const { share } = this.opts;
    if (share && this.#own(job)) return share.folderSettings(job);
    return Promise.resolve({});
  }

  #own(job: Job): boolean {
    return job.origin === this.opts.node;
  }
}
