import path from 'node:path';
import type { Job } from '@scopehive/shared';
import { ImageRejection } from '../image/rejection.ts';
import { FolderOverrides } from '../pipeline/folder-settings.ts';
import { readImageFile } from '../pipeline/local-share.ts';
import type { FolderSettings, ImageSource } from '../pipeline/stages.ts';
import type { Input } from './inputs.ts';

/** The CLI's source: the files given on the command line, with folder settings as in an inbox. */
export class FileList implements ImageSource {
  readonly #inputs: Map<string, Input>;
  readonly #folders = new Map<string, FolderOverrides>();

  constructor(inputs: readonly Input[]) {
    this.#inputs = new Map(inputs.map((i) => [i.image, i]));
  }

  read(job: Job): Promise<Buffer> {
    return readImageFile(this.#input(job).file);
  }

  folderSettings(job: Job): Promise<FolderSettings> {
    const { root } = this.#input(job);
    let folders = this.#folders.get(root);
    if (!folders) {
      folders = new FolderOverrides(root);
      this.#folders.set(root, folders);
    }
    // A renamed duplicate (`name~2`) is looked up under its real path.
    const input = this.#input(job);
    return folders.forImage(path.relative(root, path.resolve(input.file)).split(path.sep).join('/'));
  }

  #input(job: Job): Input {
    const input = this.#inputs.get(job.image.path);
    if (!input) throw new ImageRejection('vanished', `not among the files given: ${job.image.path}`);
    return input;
  }
}
