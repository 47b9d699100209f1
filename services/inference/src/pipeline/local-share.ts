import fs from 'node:fs/promises';
import path from 'node:path';
import {
  exists,
  insideFolder,
  isOutsideFolder,
  type Job,
  type Logger,
  ResultLedger,
  recordLatestImage,
  rejectedPaths,
  resultPaths,
} from '@scopehive/shared';
import { ImageRejection } from '../image/rejection.ts';
import { CsvTables } from '../results/csv-table.ts';
import { rejectFile } from '../results/reject-file.ts';
import type { SizeUnitSetting } from '../results/table-rows.ts';
import { writeResult } from '../results/write-result.ts';
import { FolderOverrides } from './folder-settings.ts';
import type { AnalysisResult, FolderSettings, ImageSource, ResultSink } from './stages.ts';

/** Rejections remembered so that the other models' jobs for the same file do not record it again. */
const REMEMBERED_REJECTIONS = 1000;

/**
 * Results into a results folder: annotated image, CSV rows, then the JSON that says "done". The
 * ledger answers whether a job is done; the CSV tables never hold a job's rows twice. The annotated
 * image just written is recorded as the latest one, for the exporter to serve.
 */
export class ResultsFolder implements Pick<ResultSink, 'isDone'> {
  readonly #tables: CsvTables;
  readonly #logger?: Logger;
  readonly #sizeUnit: SizeUnitSetting;

  constructor(
    readonly resultsDir: string,
    readonly ledger: ResultLedger = new ResultLedger(),
    options: { logger?: Logger } & TableSettings = {},
  ) {
    this.#logger = options.logger;
    this.#tables = new CsvTables({ bom: options.bom });
    this.#sizeUnit = options.sizeUnit ?? 'auto';
  }

  isDone(job: Job, imageSha256: string): Promise<boolean> {
    const { json } = resultPaths(this.resultsDir, job.image.path, job.model.name);
    return this.ledger.isCurrent(json, { imageSha256, modelSha256: job.model.sha256 });
  }

  /** `sizeUnit`: the image folder's own choice for a new table, over the service's. */
  async write({ doc, annotated, labels }: AnalysisResult, sizeUnit?: SizeUnitSetting): Promise<void> {
    let json: string;
    try {
      json = await writeResult({
        resultsDir: this.resultsDir,
        doc,
        annotated,
        labels,
        tables: this.#tables,
        sizeUnit: sizeUnit ?? this.#sizeUnit,
      });
    } catch (err) {
      // Thrown on: a planted link is the share's problem, not the image's; the classifier decides.
      if (isOutsideFolder(err))
        this.#logger?.warn(
          { image: doc.image.path },
          `results of ${doc.image.path} not written: ${err.message}`,
        );
      throw err;
    }
    await this.ledger.record(json, { imageSha256: doc.image.sha256, modelSha256: doc.model.sha256 });
    if (annotated) {
      const image = resultPaths(this.resultsDir, doc.image.path, doc.model.name).annotated;
      // The result is complete without it: a pointer that cannot be written only leaves the
      // dashboard on the previous image, so it is logged and the job still succeeds.
      await recordLatestImage(this.resultsDir, image, annotated).catch((err: unknown) => {
        this.#logger?.warn({ image: doc.image.path }, `latest annotated image not recorded: ${message(err)}`);
      });
    }
  }

  /** Does the table rewrites still owed (superseded rows waiting behind a burst) before stopping. */
  close(): Promise<void> {
    return this.#tables.settled();
  }
}

export interface LocalShareOptions {
  inboxDir: string;
  resultsDir: string;
  rejectedDir: string;
  ledger?: ResultLedger;
  logger: Logger;
  /** Counts a file set aside, by reason. */
  onRejected?: (reason: ImageRejection['reason']) => void;
  /** The results tables' unit when a table is made, and a byte-order mark for Excel. */
  tables?: TableSettings;
}

export interface TableSettings {
  sizeUnit?: SizeUnitSetting;
  bom?: boolean;
}

/**
 * The device's own share as source and sink: images from the inbox, results to the results folder,
 * unusable files moved to the rejected folder with a one-line reason.
 */
export class LocalShare implements ImageSource, ResultSink {
  readonly #opts: LocalShareOptions;
  readonly #results: ResultsFolder;
  readonly #folders: FolderOverrides;
  readonly #recorded = new Map<string, Promise<void>>();

  constructor(options: LocalShareOptions) {
    this.#opts = options;
    this.#results = new ResultsFolder(options.resultsDir, options.ledger, {
      logger: options.logger,
      ...options.tables,
    });
    this.#folders = new FolderOverrides(options.inboxDir);
  }

  async read(job: Job): Promise<Buffer> {
    const { inboxDir } = this.#opts;
    let file: string;
    try {
      file = await insideFolder(inboxDir, job.image.path);
    } catch (err) {
      // The image's own path: reached through a link it may be any file of the device.
      if (isOutsideFolder(err)) throw new ImageRejection('unreadable', `not read: ${err.message}`);
      throw err;
    }
    return readImageFile(file);
  }

  folderSettings(job: Job): Promise<FolderSettings> {
    return this.#folders.forImage(job.image.path);
  }

  isDone(job: Job, imageSha256: string): Promise<boolean> {
    return this.#results.isDone(job, imageSha256);
  }

  async write(result: AnalysisResult): Promise<void> {
    const { choices } = await this.#folders.forImage(result.doc.image.path);
    return this.#results.write(result, choices?.sizeUnit);
  }

  close(): Promise<void> {
    return this.#results.close();
  }

  /**
   * Every model's job for a bad file fails, often at the same moment: the first one sets the file
   * aside, writes the reason and counts it; the others wait for it and add nothing (they would
   * otherwise find the file gone, overwrite the reason with "left in the inbox" and count it once per
   * model). The jobs of one arrival of a file share its time seen; the same bytes dropped again are new.
   */
  reject(job: Job, rejection: ImageRejection): Promise<void> {
    const key = `${job.image.path}\n${job.image.sha256}\n${job.seenAt}`;
    let pending = this.#recorded.get(key);
    if (!pending) {
      pending = this.#setAside(job.image.path, rejection);
      this.#recorded.set(key, pending);
      pending.catch(() => this.#recorded.delete(key));
      if (this.#recorded.size > REMEMBERED_REJECTIONS) {
        this.#recorded.delete(this.#recorded.keys().next().value as string);
      }
    }
    return pending;
  }

  async #setAside(image: string, rejection: ImageRejection): Promise<void> {
    const { inboxDir, rejectedDir, logger } = this.#opts;
    // A job from before a restart: the first rejection moved the file, this one finds it gone.
    if (rejection.reason === 'vanished' && (await exists(rejectedPaths(rejectedDir, image).reason))) return;
    let movedTo: string | undefined;
    try {
      ({ movedTo } = await rejectFile({ inboxDir, rejectedDir, image, rejection }));
    } catch (err) {
      if (isOutsideFolder(err))
        logger.warn({ image }, `${image} left in the inbox, not set aside: ${err.message}`);
      throw err;
    }
    this.#opts.onRejected?.(rejection.reason);
    logger.warn(
      {
        image,
        reason: rejection.reason,
        movedTo: movedTo && path.relative(path.dirname(rejectedDir), movedTo),
      },
      `${image} set aside (${rejection.reason}): ${rejection.message}`,
    );
  }
}

const message = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

/** Reads an image file; a failure that is the file's own fault becomes an ImageRejection. */
export async function readImageFile(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ImageRejection('vanished', 'the file disappeared before it could be read');
    if (code === 'EACCES' || code === 'EPERM')
      throw new ImageRejection('unreadable', 'permission denied reading the file');
    if (code === 'EISDIR') throw new ImageRejection('unsupported', 'a folder, not an image file');
    throw err;
  }
}
