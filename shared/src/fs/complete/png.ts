import type { StructureReader } from './source.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The CRC of an empty IEND chunk: the same in every PNG. */
const IEND_CRC = 0xae426082;
/** PNG's own limit on a chunk's length. */
const MAX_CHUNK = 0x7fffffff;

/**
 * A PNG is complete when its chunks, walked by their lengths from IHDR, reach an empty IEND chunk
 * that ends exactly at the end of the file, with image data (IDAT) before it. The text "IEND" inside
 * another chunk (a comment) is skipped with that chunk.
 */
export async function pngComplete(r: StructureReader): Promise<boolean> {
  const signature = await r.bytes(0, 8);
  if (SIGNATURE.some((b, i) => signature[i] !== b)) return false;
  let pos = 8;
  let data = false;
  for (let first = true; ; first = false) {
    const length = await r.u32(pos, false);
    const type = await r.ascii(pos + 4, 4);
    if (length > MAX_CHUNK || !/^[A-Za-z]{4}$/.test(type)) return false;
    if (first !== (type === 'IHDR')) return false;
    const end = pos + 12 + length;
    if (type === 'IEND') {
      return data && length === 0 && end === r.size && (await r.u32(pos + 8, false)) === IEND_CRC;
    }
    if (type === 'IDAT') data = true;
    pos = end;
  }
}
