/**
 * A large uncompressed 16-bit greyscale TIFF written straight to disk a band of rows at a time (the
 * test never holds the image in memory), with its SHA-256 computed on the way, so that a result's
 * hash can be checked against the file's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

/** Little-endian TIFF: header, one strip of pixels, then the IFD. Returns the file's SHA-256. */
export async function writeBigTiff(file: string, width: number, height: number, seed = 1): Promise<string> {
  const pixelBytes = width * height * 2;
  const ifdOffset = 8 + pixelBytes;
  const tags: Array<[tag: number, type: number, value: number]> = [
    [256, 4, width], // ImageWidth
    [257, 4, height], // ImageLength
    [258, 3, 16], // BitsPerSample
    [259, 3, 1], // Compression: none
    [262, 3, 1], // PhotometricInterpretation: black is zero
    [273, 4, 8], // StripOffsets
    [277, 3, 1], // SamplesPerPixel
    [278, 4, height], // RowsPerStrip
    [279, 4, pixelBytes], // StripByteCounts
    [284, 3, 1], // PlanarConfiguration: chunky
  ];
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(ifdOffset, 4);
  const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
  ifd.writeUInt16LE(tags.length, 0);
  for (const [i, [tag, type, value]] of tags.entries()) {
    const at = 2 + i * 12;
    ifd.writeUInt16LE(tag, at);
    ifd.writeUInt16LE(type, at + 2);
    ifd.writeUInt32LE(1, at + 4);
    if (type === 3) ifd.writeUInt16LE(value, at + 8);
    else ifd.writeUInt32LE(value, at + 8);
  }
  const hash = createHash('sha256');
  const out = await fs.open(file, 'w');
  try {
    const put = async (bytes: Buffer) => {
      hash.update(bytes);
      await out.write(bytes);
    };
    await put(header);
    // Bright discs on a dim gradient: something for the percentile stretch to work on.
    const bandRows = Math.max(1, Math.floor((4 << 20) / (width * 2)));
    for (let y0 = 0; y0 < height; y0 += bandRows) {
      const rows = Math.min(bandRows, height - y0);
      const band = Buffer.alloc(rows * width * 2);
      for (let r = 0; r < rows; r++) {
        const y = y0 + r;
        for (let x = 0; x < width; x++) {
          const cx = (x % 800) - 400;
          const cy = (y % 800) - 400;
          const disc = cx * cx + cy * cy < 150 * 150 ? 40_000 : 0;
          band.writeUInt16LE((disc + ((x + y + seed * 997) % 4000)) & 0xffff, (r * width + x) * 2);
        }
      }
      await put(band);
    }
    await put(ifd);
  } finally {
    await out.close();
  }
  return hash.digest('hex');
}
