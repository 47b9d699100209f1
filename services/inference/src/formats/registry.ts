import { IMAGE_FORMATS, type ImageFormatEntry, type ImageFormatName } from '@scopehive/shared';
import { readDm } from './dm/read.ts';
import { readPhoto, readPng } from './raster.ts';
import { readTiff } from './tiff/read.ts';
import type { FormatReader } from './types.ts';

/**
 * One reader per format of the catalogue (`IMAGE_FORMATS` in @scopehive/shared, which ingest reads
 * too): the Record type makes a format without a reader a compile error.
 */
const READERS: Readonly<Record<ImageFormatName, FormatReader>> = {
  jpeg: readPhoto,
  png: readPng,
  tiff: readTiff,
  webp: readPhoto,
  dm3: readDm,
  dm4: readDm,
};

export type ImageFormat = ImageFormatEntry & { read: FormatReader };

/** Every format scopehive reads: name, display name, extensions, sniff and reader. */
export const FORMATS: readonly ImageFormat[] = IMAGE_FORMATS.map((f) => ({ ...f, read: READERS[f.name] }));

/** The format of these bytes, reader included; undefined when scopehive does not read them. */
export function formatOf(bytes: Uint8Array): ImageFormat | undefined {
  return FORMATS.find((f) => f.sniff(bytes));
}
