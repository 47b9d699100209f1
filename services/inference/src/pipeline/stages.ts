import type { Job, ResultDocument } from '@scopehive/shared';
import type { ImageRejection } from '../image/rejection.ts';
import type { CalibrationOverride } from '../microscopy/calibration.ts';
import type { FolderChoices } from './folder-settings.ts';

/** Settings that a folder's `scopehive.json` gives the images in it and below. */
export interface FolderSettings {
  override?: CalibrationOverride;
  /** Tiling, table unit and edge rule chosen for the folder. */
  choices?: FolderChoices;
  /** A settings file that could not be used, said in the result rather than stopping the analysis. */
  warning?: string;
}

/**
 * Where a job's image bytes come from: the local share today; the hive's image store next. A read
 * failure that is the file's own fault (gone, unreadable, a folder) throws an ImageRejection.
 */
export interface ImageSource {
  read(job: Job): Promise<Buffer>;
  folderSettings(job: Job): Promise<FolderSettings>;
}

/** One image's results for one model, ready to be written. */
export interface AnalysisResult {
  doc: ResultDocument;
  /** The annotated JPEG, when annotation is on. */
  annotated?: Buffer;
  /**
   * The label image, when the model gives masks: pixel value k = the k-th detection of the document
   * (0 background), the image's size; written as `<image>.<model>.labels.png`.
   */
  labels?: Uint16Array;
}

/** Where results go: the origin's share. Writing must be atomic and idempotent. */
export interface ResultSink {
  /** True when a current result exists for this job's image content (`imageSha256`) and model. */
  isDone(job: Job, imageSha256: string): Promise<boolean>;
  /** `job` is the job the result answers (a hive sink sends it back to the job's origin). */
  write(result: AnalysisResult, job: Job): Promise<void>;
  /** Records that the job's image cannot be analysed (moved aside on the share, listed by the CLI). */
  reject(job: Job, rejection: ImageRejection): Promise<void>;
}
