import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { insideFolder } from './safe-path.ts';

/** SHA-256 of a file's content, streamed so large micrographs do not sit in memory twice. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes a file so readers never see it half-written: to a temporary name in the same folder, then
 * renamed over the target (rename is atomic within a file system). `durable` also flushes it to disk
 * first, for files whose presence means "done" and must survive a power cut. `root` is the folder the
 * file must stay in: on the share anyone can plant a symbolic link, so the path is refused
 * (OutsideFolderError) when it leaves `root` or passes a link, before any folder is created.
 */
export async function writeFileAtomic(
  file: string,
  data: Uint8Array | string,
  options: { durable?: boolean; root?: string } = {},
): Promise<void> {
  if (options.root !== undefined) await insideFolder(options.root, file);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  // Exclusive: a link planted at the temporary name makes the open fail instead of being followed.
  const handle = await fs.open(tmp, 'wx');
  try {
    try {
      await handle.writeFile(data);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
