import fs from 'node:fs/promises';
import { StartupError } from '../config/errors.ts';

/** Creates the data folders; a folder that cannot be created is a one-line start-up error. */
export async function ensureFolders(folders: Record<string, string>): Promise<void> {
  for (const [name, dir] of Object.entries(folders)) {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw new StartupError(
        `cannot create the ${name} folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  }
}
