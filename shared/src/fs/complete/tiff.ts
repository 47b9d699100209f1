import { NotProvable, type StructureReader } from './source.ts';

/** Bytes per value of each TIFF field type (6.0 and BigTIFF); an unknown type cannot be measured. */
const TYPE_BYTES: Readonly<Record<number, number>> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

/** Tags whose values point at further IFDs: SubIFDs hold images, EXIF, GPS and Interop only metadata. */
const IMAGE_IFD_TAGS = new Set([330]);
const META_IFD_TAGS = new Set([34665, 34853, 40965]);

/** More pages than any microscope stack: a chain longer than this is not walked to its end. */
const MAX_IFDS = 100_000;
/** TIFF's own limit for classic IFDs; a BigTIFF IFD claiming more is not a real one. */
const MAX_ENTRIES = 65_535;

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** Where the values are: inside the entry, or at the offset it holds. */
  valuesAt: number;
}

interface Layout {
  le: boolean;
  big: boolean;
}

/**
 * A TIFF (classic or BigTIFF, either byte order) is complete when every IFD reachable from the header
 * (the page chain, SubIFDs, EXIF and GPS) lies inside the file, every value they point to does, every
 * page's strips or tiles do, and the furthest of them is the end of the file (give or take the pad
 * byte that keeps structures on word boundaries). The last condition keeps a multi-page file whose
 * next page is being appended from passing for a shorter complete one.
 */
export async function tiffComplete(r: StructureReader): Promise<boolean> {
  const order = await r.ascii(0, 2);
  if (order !== 'II' && order !== 'MM') return false;
  const le = order === 'II';
  const version = await r.u16(2, le);
  if (version !== 42 && version !== 43) return false;
  const big = version === 43;
  if (big && ((await r.u16(4, le)) !== 8 || (await r.u16(6, le)) !== 0)) return false;
  const layout = { le, big };
  let extent = big ? 16 : 8;
  const queue: Array<{ at: number; image: boolean }> = [
    { at: big ? await r.u64(8, le) : await r.u32(4, le), image: true },
  ];
  const visited = new Set<number>();
  while (queue.length > 0) {
    const { at, image } = queue.pop()!;
    if (at === 0) continue;
    if (visited.has(at)) return false; // a loop: no writer makes one
    visited.add(at);
    if (visited.size > MAX_IFDS) throw new NotProvable('too many IFDs');
    const ifd = await readIfd(r, at, layout);
    extent = Math.max(extent, ifd.end);
    for (const entry of ifd.entries) {
      const size = TYPE_BYTES[entry.type];
      if (size !== undefined) extent = Math.max(extent, inside(r, entry.valuesAt, entry.count * size));
    }
    const data = await pageData(r, ifd.entries, layout);
    if (data === undefined && image) return false;
    extent = Math.max(extent, data ?? 0);
    for (const entry of ifd.entries) {
      const isImage = IMAGE_IFD_TAGS.has(entry.tag);
      if (!isImage && !META_IFD_TAGS.has(entry.tag)) continue;
      if (visited.size + queue.length + entry.count > MAX_IFDS) throw new NotProvable('too many IFDs');
      for (let i = 0; i < entry.count; i++)
        queue.push({ at: await value(r, entry, i, layout), image: isImage });
    }
    queue.push({ at: ifd.next, image });
  }
  return r.size === extent || (r.size === extent + 1 && extent % 2 === 1);
}

/** The end of `length` bytes at `at`, which must lie inside the file. */
function inside(r: StructureReader, at: number, length: number): number {
  if (at + length > r.size) throw new NotProvable('points past the end of the file');
  return at + length;
}

async function readIfd(
  r: StructureReader,
  at: number,
  { le, big }: Layout,
): Promise<{ entries: Entry[]; next: number; end: number }> {
  const count = big ? await r.u64(at, le) : await r.u16(at, le);
  if (count === 0 || count > MAX_ENTRIES) throw new NotProvable(`IFD of ${count} entries`);
  const entrySize = big ? 20 : 12;
  const first = at + (big ? 8 : 2);
  const nextAt = first + count * entrySize;
  const end = inside(r, nextAt, big ? 8 : 4);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const e = first + i * entrySize;
    const tag = await r.u16(e, le);
    const type = await r.u16(e + 2, le);
    const n = big ? await r.u64(e + 4, le) : await r.u32(e + 4, le);
    const field = e + (big ? 12 : 8);
    const bytes = n * (TYPE_BYTES[type] ?? 0);
    const inline = bytes <= (big ? 8 : 4);
    const valuesAt = inline ? field : big ? await r.u64(field, le) : await r.u32(field, le);
    entries.push({ tag, type, count: n, valuesAt });
  }
  const next = big ? await r.u64(nextAt, le) : await r.u32(nextAt, le);
  return { entries, next, end };
}

/** The i-th value of an offset or count field (SHORT, LONG, LONG8, IFD, IFD8). */
async function value(r: StructureReader, entry: Entry, i: number, { le }: Layout): Promise<number> {
  const size = TYPE_BYTES[entry.type];
  const at = entry.valuesAt + i * size;
  if (entry.type === 3) return r.u16(at, le);
  if (entry.type === 4 || entry.type === 13) return r.u32(at, le);
  if (entry.type === 16 || entry.type === 18) return r.u64(at, le);
  throw new NotProvable(`tag ${entry.tag} of type ${entry.type}`);
}

/**
 * The end of the page's pixel data (strips, tiles, or an old-style JPEG stream), each piece checked
 * to lie inside the file; undefined when the IFD names no pixel data.
 */
async function pageData(r: StructureReader, entries: Entry[], layout: Layout): Promise<number | undefined> {
  const byTag = new Map(entries.map((e) => [e.tag, e]));
  let end: number | undefined;
  for (const [offsetsTag, countsTag] of [
    [273, 279],
    [324, 325],
    [513, 514],
  ]) {
    const offsets = byTag.get(offsetsTag);
    const counts = byTag.get(countsTag);
    if (!offsets || !counts) continue;
    if (offsets.count !== counts.count) throw new NotProvable('offsets and byte counts differ in number');
    for (let i = 0; i < offsets.count; i++) {
      const at = await value(r, offsets, i, layout);
      const length = await value(r, counts, i, layout);
      end = Math.max(end ?? 0, inside(r, at, length));
    }
  }
  return end;
}
