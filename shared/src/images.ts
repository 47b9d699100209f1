import path from 'node:path';

/**
 * The image formats scopehive takes: what ingest picks up, what inference sniffs, and the list every
 * message names. Kept here, free of decoders, because ingest needs it too and must not install sharp
 * or ONNX Runtime to get it; inference's `formats/registry.ts` adds one reader per entry (the compiler
 * insists), so adding a format is one entry here, one reader module and one registry line.
 */
export interface ImageFormatInfo {
  /** The `format` a result carries (an OME-TIFF says 'ome-tiff' there, a variant of 'tiff'). */
  readonly name: string;
  /** How a message names it. */
  readonly displayName: string;
  /** Lower case, with the dot. */
  readonly extensions: readonly string[];
  /** Whether the file's first bytes are this format: names lie (a .tif that is really a JPEG), bytes do not. */
  sniff(bytes: Uint8Array): boolean;
}

const ascii = (bytes: Uint8Array, at: number, text: string) =>
  bytes.length >= at + text.length && [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));

/** Classic (42) or Big (43) TIFF, either byte order; OME-TIFF and ImageJ TIFF are TIFF on disk. */
function isTiff(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  if (b[0] === 0x49 && b[1] === 0x49 && b[3] === 0) return b[2] === 42 || b[2] === 43;
  if (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0) return b[3] === 42 || b[3] === 43;
  return false;
}

/**
 * A big-endian version word of 3 or 4, then a byte-order flag of 0 or 1 after the root length (u32 in
 * DM3, u64 in DM4): the version word alone would match many files.
 */
function isDm(version: 3 | 4): (b: Uint8Array) => boolean {
  const flagAt = version === 3 ? 8 : 12;
  return (b) =>
    b.length >= flagAt + 4 &&
    b[0] === 0 &&
    b[1] === 0 &&
    b[2] === 0 &&
    b[3] === version &&
    b[flagAt] === 0 &&
    b[flagAt + 1] === 0 &&
    b[flagAt + 2] === 0 &&
    b[flagAt + 3] <= 1;
}

export const IMAGE_FORMATS = [
  {
    name: 'jpeg',
    displayName: 'JPEG',
    extensions: ['.jpg', '.jpeg'],
    sniff: (b) => b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  {
    name: 'png',
    displayName: 'PNG',
    extensions: ['.png'],
    sniff: (b) => b.length >= 4 && b[0] === 0x89 && ascii(b, 1, 'PNG'),
  },
  { name: 'tiff', displayName: 'TIFF', extensions: ['.tif', '.tiff'], sniff: isTiff },
  {
    name: 'webp',
    displayName: 'WebP',
    extensions: ['.webp'],
    sniff: (b) => b.length > 12 && ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP'),
  },
  { name: 'dm3', displayName: 'DM3', extensions: ['.dm3'], sniff: isDm(3) },
  { name: 'dm4', displayName: 'DM4', extensions: ['.dm4'], sniff: isDm(4) },
] as const satisfies readonly ImageFormatInfo[];

export type ImageFormatEntry = (typeof IMAGE_FORMATS)[number];
export type ImageFormatName = ImageFormatEntry['name'];

/** File extensions taken from the inbox (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = IMAGE_FORMATS.flatMap((f) => f.extensions);

/** The format a file's name claims, whatever the case of its extension. */
export function formatForExtension(file: string): ImageFormatEntry | undefined {
  const extension = path.extname(file).toLowerCase();
  return IMAGE_FORMATS.find((f) => (f.extensions as readonly string[]).includes(extension));
}

export function isImageFile(file: string): boolean {
  return formatForExtension(file) !== undefined;
}

/** The format of the file's first bytes, or undefined when scopehive does not read it. */
export function sniffFormat(bytes: Uint8Array): ImageFormatEntry | undefined {
  return IMAGE_FORMATS.find((f) => f.sniff(bytes));
}

/** Every format, as messages name them: "JPEG, PNG, TIFF, WebP, DM3 or DM4". */
export function supportedFormatsText(): string {
  const names = IMAGE_FORMATS.map((f) => f.displayName);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
