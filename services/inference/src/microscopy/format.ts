import { MicroscopyError } from './errors.ts';

export type FileFormat = 'tiff' | 'dm3' | 'dm4' | 'png' | 'jpeg';

/**
 * The container format from the file's first bytes. Extensions lie (a .tif renamed .dm3, a
 * microscope PC exporting .TIF that is really JPEG); magic bytes do not.
 */
export function detectFormat(bytes: Uint8Array): FileFormat {
  const b = bytes;
  if (b.length >= 4) {
    if ((b[0] === 0x49 && b[1] === 0x49 && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0)) {
      const version = b[0] === 0x49 ? b[2] : b[3];
      if (version === 42 || version === 43) return 'tiff';
    }
    if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
    if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
    // DM: a big-endian version word of 3 or 4, then a byte-order flag of 0 or 1 (a 4-byte magic alone is weak).
    if (b[0] === 0 && b[1] === 0 && b[2] === 0 && (b[3] === 3 || b[3] === 4)) {
      const flagAt = b[3] === 3 ? 8 : 12;
      if (
        b.length >= flagAt + 4 &&
        b[flagAt] === 0 &&
        b[flagAt + 1] === 0 &&
        b[flagAt + 2] === 0 &&
        b[flagAt + 3] <= 1
      ) {
        return b[3] === 3 ? 'dm3' : 'dm4';
      }
    }
  }
  if (b.length === 0) throw new MicroscopyError('truncated', 'the file is empty (0 bytes)');
  throw new MicroscopyError('unsupported', 'not a TIFF, DM3, DM4, PNG or JPEG file');
}
