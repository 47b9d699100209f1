import fs from 'node:fs';
import path from 'node:path';

/** The repository root, three folders up from this test folder. */
const REPO_ROOT = path.resolve(import.meta.dirname, '../../../..');

/** The design folder beside the checkout, which holds the real instrument files. */
export const SHARED_DIR = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared');

export function microscopyPath(relative: string): string {
  return path.join(SHARED_DIR, 'microscopy', relative);
}

export function readMicroscopyFixture(relative: string): Buffer {
  return fs.readFileSync(microscopyPath(relative));
}
