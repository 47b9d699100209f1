/**
 * Writes small DM3/DM4 files for tests: both byte orders, both versions, and deliberately broken
 * type descriptions. Structure is big-endian; values follow `littleEndian`, as in real files.
 */

export type DmSpec =
  | { kind: 'group'; entries: [string, DmSpec][] }
  | { kind: 'data'; info: number[]; write: (le: boolean) => Uint8Array };

const SIZES: Record<number, number> = { 2: 2, 3: 4, 4: 2, 5: 4, 6: 4, 7: 8, 8: 1, 9: 1, 10: 1, 11: 8, 12: 8 };

function encode(code: number, values: readonly number[], le: boolean): Uint8Array {
  const size = SIZES[code];
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const at = i * size;
    if (code === 2) dv.setInt16(at, v, le);
    else if (code === 3) dv.setInt32(at, v, le);
    else if (code === 4) dv.setUint16(at, v, le);
    else if (code === 5) dv.setUint32(at, v, le);
    else if (code === 6) dv.setFloat32(at, v, le);
    else if (code === 7) dv.setFloat64(at, v, le);
    else if (code === 8 || code === 10) dv.setUint8(at, v);
    else if (code === 9) dv.setInt8(at, v);
    else if (code === 11) dv.setBigInt64(at, BigInt(v), le);
    else dv.setBigUint64(at, BigInt(v), le);
  });
  return out;
}

export const group = (entries: [string, DmSpec][]): DmSpec => ({ kind: 'group', entries });
/** A group of unnamed entries, as DM writes lists. */
export const list = (items: DmSpec[]): DmSpec => group(items.map((item) => ['', item]));
export const scalar = (code: number, value: number): DmSpec => ({
  kind: 'data',
  info: [code],
  write: (le) => encode(code, [value], le),
});
export const array = (code: number, values: readonly number[]): DmSpec => ({
  kind: 'data',
  info: [20, code, values.length],
  write: (le) => encode(code, values, le),
});
/** Text the way DM stores it: an array of UTF-16 code units. */
export const text = (value: string): DmSpec =>
  array(
    4,
    Array.from(value, (c) => c.charCodeAt(0)),
  );
export const struct = (fields: [code: number, value: number][]): DmSpec => ({
  kind: 'data',
  info: [15, 0, fields.length, ...fields.flatMap(([code]) => [0, code])],
  write: (le) => {
    const parts = fields.map(([code, v]) => encode(code, [v], le));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  },
});
/** Pixel data already encoded in the file's byte order. */
export const raw = (info: number[], bytes: Uint8Array): DmSpec => ({
  kind: 'data',
  info,
  write: () => bytes,
});

export interface DmFileSpec {
  version: 3 | 4;
  littleEndian: boolean;
  root: [string, DmSpec][];
}

export function buildDm(spec: DmFileSpec): Uint8Array {
  const wide = spec.version === 4;
  const le = spec.littleEndian;
  const count = (n: number): number[] => {
    const out = new Uint8Array(wide ? 8 : 4);
    const dv = new DataView(out.buffer);
    if (wide) dv.setBigUint64(0, BigInt(n), false);
    else dv.setUint32(0, n, false);
    return Array.from(out);
  };
  const serialize = (node: DmSpec): number[] => {
    if (node.kind === 'group') {
      const body: number[] = [1, 0, ...count(node.entries.length)];
      for (const [name, child] of node.entries) {
        const nameBytes = Array.from(new TextEncoder().encode(name));
        const content = serialize(child);
        body.push(
          child.kind === 'group' ? 20 : 21,
          nameBytes.length >> 8,
          nameBytes.length & 0xff,
          ...nameBytes,
        );
        if (wide) body.push(...count(content.length));
        for (const b of content) body.push(b);
      }
      return body;
    }
    const out = [0x25, 0x25, 0x25, 0x25, ...count(node.info.length), ...node.info.flatMap(count)];
    for (const b of node.write(le)) out.push(b);
    return out;
  };
  const root = serialize(group(spec.root));
  const header = [0, 0, 0, spec.version, ...count(root.length), 0, 0, 0, le ? 1 : 0];
  return Uint8Array.from([...header, ...root, ...new Array(8).fill(0)]);
}

/** Little helpers for pixel bytes in a given order. */
export function float64Bytes(values: readonly number[], le: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  for (const [i, v] of values.entries()) dv.setFloat64(i * 8, v, le);
  return out;
}

export function uint16Bytes(values: readonly number[], le: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (const [i, v] of values.entries()) dv.setUint16(i * 2, v, le);
  return out;
}
