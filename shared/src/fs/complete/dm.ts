import { NotProvable, type StructureReader, Truncated } from './source.ts';

/** Bytes of each DM simple type, by its type code. */
const SIMPLE_BYTES: Readonly<Record<number, number>> = {
  2: 2,
  3: 4,
  4: 2,
  5: 4,
  6: 4,
  7: 8,
  8: 1,
  9: 1,
  10: 1,
  11: 8,
  12: 8,
};
/** As the reader in services/inference (formats/dm): real type descriptions are a few dozen values. */
const MAX_INFO_VALUES = 4096;
const MAX_DEPTH = 64;
/** DigitalMicrograph ends every file with eight zero bytes after the root group. */
const TRAILER_BYTES = 8;

interface Walk {
  r: StructureReader;
  wide: boolean;
}

/**
 * A DM3/DM4 file is complete when its tag tree, walked from the root group (every data tag skipped
 * by the size its type description gives, the image data among them), ends exactly eight zero bytes
 * before the end of the file. The layout is the one `services/inference/src/formats/dm/dm.ts` parses;
 * that parser needs the whole file in memory, this walk reads only the structure.
 */
export async function dmComplete(r: StructureReader): Promise<boolean> {
  const version = await r.u32(0, false);
  if (version !== 3 && version !== 4) return false;
  const wide = version === 4;
  const order = await r.u32(wide ? 12 : 8, false);
  if (order !== 0 && order !== 1) return false;
  const end = await walkGroup({ r, wide }, wide ? 16 : 12, 0);
  if (end + TRAILER_BYTES !== r.size) return false;
  return (await r.bytes(end, TRAILER_BYTES)).every((b) => b === 0);
}

/** Structural numbers are big-endian: 4 bytes in DM3, 8 in DM4. */
function count(w: Walk, at: number): Promise<number> {
  return w.wide ? w.r.u64(at, false) : w.r.u32(at, false);
}

async function walkGroup(w: Walk, at: number, depth: number): Promise<number> {
  if (depth > MAX_DEPTH) throw new NotProvable('tags nest too deep');
  const countSize = w.wide ? 8 : 4;
  const entries = await count(w, at + 2);
  let pos = at + 2 + countSize;
  // Each entry takes at least three bytes: a larger count cannot fit and must not drive the loop.
  if (entries * 3 > w.r.size - pos) throw new Truncated('group claims more tags than fit');
  for (let i = 0; i < entries; i++) {
    const kind = await w.r.u8(pos);
    const nameLength = await w.r.u16(pos + 1, false);
    pos += 3 + nameLength + (w.wide ? 8 : 0);
    if (kind === 20) pos = await walkGroup(w, pos, depth + 1);
    else if (kind === 21) pos = await skipData(w, pos);
    else throw new NotProvable(`tag kind ${kind}`);
  }
  return pos;
}

async function skipData(w: Walk, at: number): Promise<number> {
  if ((await w.r.ascii(at, 4)) !== '%%%%') throw new NotProvable('data tag without %%%%');
  const countSize = w.wide ? 8 : 4;
  const infoCount = await count(w, at + 4);
  if (infoCount === 0 || infoCount > MAX_INFO_VALUES) throw new NotProvable('type description');
  const info: number[] = [];
  for (let i = 0; i < infoCount; i++) info.push(await count(w, at + 4 + countSize * (i + 1)));
  const [size, used] = typeBytes(info, 0);
  if (used !== info.length) throw new NotProvable('malformed type description');
  const end = at + 4 + countSize * (infoCount + 1) + size;
  if (end > w.r.size) throw new Truncated('tag value ends after the file');
  return end;
}

/** The byte size of one type description in an info array, and the index after it. */
function typeBytes(info: readonly number[], i: number): [number, number] {
  const code = info[i];
  const need = (n: number) => {
    if (i + n > info.length) throw new NotProvable('truncated type description');
  };
  if (SIMPLE_BYTES[code] !== undefined) return [SIMPLE_BYTES[code], i + 1];
  if (code === 18) {
    need(2);
    return [info[i + 1], i + 2];
  }
  if (code === 15) {
    // [15, struct name length, field count, (field name length, field type) × count]
    need(3);
    const fields = info[i + 2];
    need(3 + 2 * fields);
    let size = 0;
    for (let f = 0; f < fields; f++) {
      const field = SIMPLE_BYTES[info[i + 4 + 2 * f]];
      if (field === undefined) throw new NotProvable('struct field type');
      size += field;
    }
    return [size, i + 3 + 2 * fields];
  }
  if (code === 20) {
    // [20, element type…, length]
    need(2);
    const [element, next] = typeBytes(info, i + 1);
    if (next >= info.length) throw new NotProvable('truncated type description');
    return [element * info[next], next + 1];
  }
  throw new NotProvable(`DM type ${code}`);
}
