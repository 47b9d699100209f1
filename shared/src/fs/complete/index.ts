import { constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import { IMAGE_FORMATS, type ImageFormatName } from '../../images.ts';
import { dmComplete } from './dm.ts';
import { jpegComplete } from './jpeg.ts';
import { pngComplete } from './png.ts';
import { type ByteSource, fileSource, NotProvable, StructureReader, Truncated } from './source.ts';
import { tiffComplete } from './tiff.ts';

/** One format's rule: true only when the bytes prove the file whole. */
export type CompletenessRule = (reader: StructureReader) => Promise<boolean>;

interface FormatRule {
  /** Whether the last bytes can end a whole file: a cheap look before walking the structure. */
  tail?: { bytes: number; test: (tail: Uint8Array) => boolean };
  complete: CompletenessRule;
}

const dm: FormatRule = { tail: { bytes: 8, test: (t) => t.every((b) => b === 0) }, complete: dmComplete };

/** The formats whose structure can prove a file complete; the others wait for the stability window. */
const COMPLETENESS_RULES: Readonly<Partial<Record<ImageFormatName, FormatRule>>> = {
  jpeg: { tail: { bytes: 2, test: (t) => t[0] === 0xff && t[1] === 0xd9 }, complete: jpegComplete },
  png: {
    tail: { bytes: 12, test: (t) => String.fromCharCode(...t.subarray(4, 8)) === 'IEND' },
    complete: pngComplete,
  },
  tiff: { complete: tiffComplete },
  dm3: dm,
  dm4: dm,
};

/** Enough of the start of a file for every format's sniff. */
const SNIFF_BYTES = 16;

/**
 * The format whose structure shows the bytes whole, or undefined: not a format with a rule, or
 * truncated, malformed, hostile or too large to walk within the budget. The format is told by the
 * bytes, not the name.
 */
export async function provenFormat(
  source: ByteSource,
  budgetBytes?: number,
): Promise<ImageFormatName | undefined> {
  const reader = new StructureReader(source, budgetBytes);
  try {
    const head = await reader.bytes(0, Math.min(SNIFF_BYTES, reader.size));
    const format = IMAGE_FORMATS.find((f) => f.sniff(head))?.name;
    const rule = format && COMPLETENESS_RULES[format];
    if (!rule) return undefined;
    if (rule.tail) {
      if (reader.size < rule.tail.bytes) return undefined;
      const tail = await reader.bytes(reader.size - rule.tail.bytes, rule.tail.bytes);
      if (!rule.tail.test(tail)) return undefined;
    }
    return (await rule.complete(reader)) ? format : undefined;
  } catch (err) {
    if (err instanceof Truncated || err instanceof NotProvable) return undefined;
    throw err;
  }
}

/** What was proven: the format, and the file as it was while its bytes were read. */
export interface ProvenComplete {
  format: ImageFormatName;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * Whether `file` is provably complete now. It is opened without following a link, must have no holes
 * (see `hasHoles`), and its size and modification time must be the same after the walk as before: a
 * writer that went on meanwhile leaves it unproven (its next write is seen and the file checked
 * again). An unreadable or vanished file is simply not proven.
 */
export async function completeByStructure(
  file: string,
  options: { budgetBytes?: number } = {},
): Promise<ProvenComplete | undefined> {
  let handle: fs.FileHandle;
  try {
    // Non-blocking: a named pipe put in place of the file must not hold a thread waiting for a writer.
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const before = await handle.stat();
    if (!before.isFile() || hasHoles(before)) return undefined;
    const format = await provenFormat(fileSource(handle, before.size), options.budgetBytes);
    if (!format) return undefined;
    const after = await handle.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return undefined;
    return { format, size: before.size, mtimeMs: before.mtimeMs, ino: before.ino };
  } catch {
    return undefined; // an I/O error while reading: not proven, the stability window decides
  } finally {
    await handle.close();
  }
}

/**
 * Fewer blocks than bytes: parts of the file were never written. An NFS client's writes can reach the
 * server out of order, so the end of a file (its EOI, its IEND) may be there before its middle; the
 * walk cannot tell zeros of a hole from pixel data. Filesystems that compress or pack tails can look
 * the same: such a file just waits for the stability window.
 */
function hasHoles(stats: Stats): boolean {
  return stats.blocks * 512 < stats.size;
}

export { type ByteSource, memorySource } from './source.ts';
