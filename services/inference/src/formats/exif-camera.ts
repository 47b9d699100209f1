/**
 * Whether an image's EXIF names a camera: a Make (0x010F) or Model (0x0110) entry with text in the
 * first IFD, as cameras and phones write and microscope software does not. The auto tiling rule
 * leaves such colour PNGs whole as photographs. Pure, and safe on any bytes: a malformed block is
 * simply not a camera's.
 */
const MAKE = 0x010f;
const MODEL = 0x0110;
const ASCII = 2;

/** `exif` as sharp's metadata gives it: `Exif\0\0` then a TIFF header, or the TIFF header alone. */
export function exifNamesCamera(exif: Uint8Array | undefined): boolean {
  if (!exif) return false;
  const start =
    exif.length >= 6 && Buffer.from(exif.subarray(0, 6)).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  const tiff = new DataView(exif.buffer, exif.byteOffset + start, exif.length - start);
  if (tiff.byteLength < 8) return false;
  const order = tiff.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return false;
  const le = order === 0x4949;
  if (tiff.getUint16(2, le) !== 42) return false;
  const ifd = tiff.getUint32(4, le);
  if (ifd + 2 > tiff.byteLength) return false;
  const entries = tiff.getUint16(ifd, le);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.byteLength) return false;
    const tag = tiff.getUint16(at, le);
    if ((tag !== MAKE && tag !== MODEL) || tiff.getUint16(at + 2, le) !== ASCII) continue;
    const count = tiff.getUint32(at + 4, le);
    const offset = count <= 4 ? at + 8 : tiff.getUint32(at + 8, le);
    if (offset + count > tiff.byteLength) continue;
    const text = Buffer.from(tiff.buffer, tiff.byteOffset + offset, count).toString('latin1');
    if (/[^\0\s]/.test(text)) return true;
  }
  return false;
}
