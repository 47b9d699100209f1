import { describe, expect, it } from 'vitest';
import { packNchw } from '../../src/core/tensor.ts';

describe('packNchw', () => {
  it('splits interleaved RGB into red, green and blue planes scaled to 0..1', () => {
    // 2×2 image, pixels in row order.
    const rgb = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 255, 128, 51]);
    const out = new Float32Array(12);
    packNchw(rgb, 2, 2, out);
    const f = (v: number) => Math.fround(v / 255);
    expect(Array.from(out)).toEqual([
      ...[0, 3, 6, 255].map(f),
      ...[1, 4, 7, 128].map(f),
      ...[2, 5, 8, 51].map(f),
    ]);
    expect(out[3]).toBe(1);
    expect(out[0]).toBe(0);
  });

  it('gives the float32 of v/255 for every byte value, as numpy and torch do', () => {
    const rgb = new Uint8Array(256 * 3);
    for (let v = 0; v < 256; v++) rgb[v * 3] = v;
    const out = new Float32Array(256 * 3);
    packNchw(rgb, 256, 1, out);
    for (let v = 0; v < 256; v++) expect(out[v]).toBe(Math.fround(v / 255));
  });

  it('keeps a non-square image in row-major order within each plane', () => {
    // 3 wide, 1 high; red values 10, 20, 30 across.
    const rgb = Uint8Array.from([10, 0, 0, 20, 0, 0, 30, 0, 0]);
    const out = new Float32Array(9);
    packNchw(rgb, 3, 1, out);
    expect(Array.from(out.subarray(0, 3))).toEqual([10, 20, 30].map((v) => Math.fround(v / 255)));
    expect(Array.from(out.subarray(3))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('writes the second image of a batch at its offset and leaves the first alone', () => {
    const out = new Float32Array(24).fill(-1);
    packNchw(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]), 2, 2, out, 12);
    expect(Array.from(out.subarray(0, 12))).toEqual(new Array(12).fill(-1));
    expect(Array.from(out.subarray(12))).toEqual([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]);
  });

  it('accepts a Node Buffer as sharp returns it', () => {
    const out = new Float32Array(3);
    packNchw(Buffer.from([255, 0, 255]), 1, 1, out);
    expect(Array.from(out)).toEqual([1, 0, 1]);
  });

  it('throws when the byte count does not match the size', () => {
    expect(() => packNchw(new Uint8Array(11), 2, 2, new Float32Array(12))).toThrow(/expected 12 RGB bytes/);
    expect(() => packNchw(new Uint8Array(16), 2, 2, new Float32Array(12))).toThrow(RangeError);
  });

  it('throws when the tensor has no room at the offset', () => {
    expect(() => packNchw(new Uint8Array(12), 2, 2, new Float32Array(11))).toThrow(/no room/);
    expect(() => packNchw(new Uint8Array(12), 2, 2, new Float32Array(24), 13)).toThrow(/no room/);
    expect(() => packNchw(new Uint8Array(12), 2, 2, new Float32Array(24), -1)).toThrow(RangeError);
  });

  it('throws for sizes that are not positive whole numbers', () => {
    expect(() => packNchw(new Uint8Array(0), 0, 0, new Float32Array(0))).toThrow(RangeError);
    expect(() => packNchw(new Uint8Array(6), 1.5, 1, new Float32Array(6))).toThrow(RangeError);
  });
});
