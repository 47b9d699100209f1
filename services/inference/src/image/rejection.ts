import { supportedFormatsText } from '@scopehive/shared';
import { MicroscopyError } from '../microscopy/errors.ts';

/** Why a file cannot be analysed, as a short code (a metric label) and one readable line. */
export const REJECT_REASONS = [
  'empty',
  'truncated',
  'corrupt',
  'unsupported',
  'too_large',
  'too_small',
  'unreadable',
  'vanished',
  'failed',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export class ImageRejection extends Error {
  override name = 'ImageRejection';
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes scopehive does not read, named with every format it does. */
export function unsupportedFormat(): ImageRejection {
  return new ImageRejection('unsupported', `not an image in a supported format (${supportedFormatsText()})`);
}

/** The error codes that are about this one file rather than the device (a full disk is the device's). */
const FILE_ERRORS: ReadonlyMap<string, [RejectReason, string]> = new Map([
  ['ENOENT', ['vanished', 'the file disappeared before it could be read']],
  ['EACCES', ['unreadable', 'permission denied reading the file']],
  ['EPERM', ['unreadable', 'permission denied reading the file']],
  ['EISDIR', ['unsupported', 'a folder, not an image file']],
]);

/**
 * libvips (through sharp) starts a message about the input with its loader's name or "Input"/"Image";
 * only those are trusted to be about the bytes, so a bug saying "unexpected end of JSON input" is not
 * taken for a truncated image.
 */
const DECODER_MESSAGE = /^(Input|Image|Vips|TIFF|tiff2vips|pngload|jpegload|webp|heifload|gifload)/i;

type DecoderReason = Extract<RejectReason, 'too_large' | 'unsupported' | 'truncated' | 'corrupt'>;

/** What a decoder's words say is wrong with the bytes; the one place sharp's messages are read. */
export function decoderReason(message: string): DecoderReason {
  if (/pixel limit|exceeds.*limit/i.test(message)) return 'too_large';
  if (/unsupported image format|unknown format|not a known file format/i.test(message)) return 'unsupported';
  if (
    /premature end|truncated|unexpected end|end of (file|stream)|short read|not enough data|read error/i.test(
      message,
    )
  ) {
    return 'truncated';
  }
  return 'corrupt';
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

function decoderRejection(message: string): ImageRejection {
  switch (decoderReason(message)) {
    case 'too_large':
      return new ImageRejection('too_large', `image larger than the pixel limit (${message})`);
    case 'unsupported':
      return unsupportedFormat();
    case 'truncated':
      return new ImageRejection('truncated', `the image data is incomplete (${message})`);
    case 'corrupt':
      return new ImageRejection('corrupt', `the image could not be decoded (${message})`);
  }
}

/**
 * The rejection when `err` is the image's fault: its bytes (a decoder's message, a MicroscopyError, an
 * ImageRejection) or the file itself (gone, unreadable, a folder). Undefined for everything else (a
 * full disk, an I/O error, a closed pool, a bug), which the pipeline retries instead.
 */
export function classifyDecodeError(err: unknown): ImageRejection | undefined {
  if (err instanceof ImageRejection) return err;
  if (err instanceof MicroscopyError) return new ImageRejection(err.reason, err.message);
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string') {
    const known = FILE_ERRORS.get(code);
    return known && new ImageRejection(...known);
  }
  const message = firstLine(err);
  return err instanceof Error && DECODER_MESSAGE.test(message) ? decoderRejection(message) : undefined;
}
