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

/** Names the problem behind a decoder's or the file system's error in the microscopist's words. */
export function classifyImageError(err: unknown): ImageRejection {
  if (err instanceof ImageRejection) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  if (code === 'ENOENT')
    return new ImageRejection('vanished', 'the file disappeared before it could be read');
  if (code === 'EACCES' || code === 'EPERM')
    return new ImageRejection('unreadable', 'permission denied reading the file');
  if (code === 'EISDIR') return new ImageRejection('unsupported', 'a folder, not an image file');
  if (/pixel limit|exceeds.*limit/i.test(message)) {
    return new ImageRejection('too_large', `image larger than the pixel limit (${message})`);
  }
  if (/unsupported image format|unknown format|not a known file format/i.test(message)) {
    return new ImageRejection('unsupported', 'not an image in a supported format (JPEG, PNG, TIFF)');
  }
  if (
    /premature end|truncated|unexpected end|end of (file|stream)|short read|not enough data|read error/i.test(
      message,
    )
  ) {
    return new ImageRejection('truncated', `the image data is incomplete (${message})`);
  }
  return new ImageRejection('corrupt', `the image could not be decoded (${message})`);
}
