import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { letterboxGeometry } from '../../src/core/letterbox.ts';
import { letterboxTensor } from '../../src/core/letterbox-tensor.ts';
import { decodeImage } from '../../src/image/decode-image.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');

/** A byte as the model sees it: float32 of v/255. */
const unit = (v: number) => Math.fround(v / 255);
const PAD = unit(114);

/** The three planes of a tensor written at `offset`, as rows of numbers per plane. */
function planes(out: Float32Array, width: number, height: number, offset = 0): number[][][] {
  return [0, 1, 2].map((c) =>
    Array.from({ length: height }, (_, y) => {
      const start = offset + c * width * height + y * width;
      return Array.from(out.subarray(start, start + width));
    }),
  );
}

const bytes = (...rows: number[][]) => rows.map((r) => r.map(unit));

describe('letterboxTensor', () => {
  it('reproduces the bytes /255 when the image already has the input size', () => {
    // 3×2 pixels, interleaved R, G, B.
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252, 0, 128, 255, 13, 17, 19]);
    const g = letterboxGeometry(3, 2, 3, 2);
    expect([g.newWidth, g.newHeight, g.padLeft, g.padTop]).toEqual([3, 2, 0, 0]);
    const out = new Float32Array(18);
    letterboxTensor(rgb, g, out);
    expect(planes(out, 3, 2)).toEqual([
      bytes([1, 4, 7], [250, 0, 13]),
      bytes([2, 5, 8], [251, 128, 17]),
      bytes([3, 6, 9], [252, 255, 19]),
    ]);
  });

  it('writes red, green and blue as separate planes in that order', () => {
    const rgb = Uint8Array.from([255, 0, 0]);
    const out = new Float32Array(3);
    letterboxTensor(rgb, letterboxGeometry(1, 1, 1, 1), out);
    expect(Array.from(out)).toEqual([1, 0, 0]);
    letterboxTensor(Uint8Array.from([0, 0, 51]), letterboxGeometry(1, 1, 1, 1), out);
    expect(Array.from(out)).toEqual([0, 0, unit(51)]);
  });

  it('upscales 2×2 to 4×4 like OpenCV INTER_LINEAR: half-pixel centres, clamped edges, rounded bytes', () => {
    // Pixels (x, y): (0,0) = 0/10/255, (1,0) = 100/30/0, (0,1) = 200/50/128, (1,1) = 40/90/64.
    const rgb = Uint8Array.from([0, 10, 255, 100, 30, 0, 200, 50, 128, 40, 90, 64]);
    const g = letterboxGeometry(2, 2, 4, 4);
    expect([g.scale, g.newWidth, g.newHeight, g.padLeft, g.padTop]).toEqual([2, 4, 4, 0, 0]);
    const out = new Float32Array(48);
    letterboxTensor(rgb, g, out);
    // Output x = 0..3 maps to source x = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25; outside the
    // image the edge pixel is taken, so the weights of the right pixel are 0, 0.25, 0.75, 1 (same for y).
    // Red, row 0: 0, 0.75·0 + 0.25·100 = 25, 75, 100. Row 3: 200, 0.75·200 + 0.25·40 = 160, 80, 40.
    // Row 1 = 0.75·row 0 + 0.25·row 3: 50, 58.75 → 59, 76.25 → 76, 85. Row 2 the other way round.
    expect(planes(out, 4, 4)).toEqual([
      bytes([0, 25, 75, 100], [50, 59, 76, 85], [150, 126, 79, 55], [200, 160, 80, 40]),
      bytes([10, 15, 25, 30], [20, 26, 39, 45], [40, 49, 66, 75], [50, 60, 80, 90]),
      bytes([255, 191, 64, 0], [223, 171, 68, 16], [160, 132, 76, 48], [128, 112, 80, 64]),
    ]);
  });

  it('pads above and below with exactly 114/255 in all three planes', () => {
    // 4×2 into 4×4: one grey row above, one below.
    const rgb = new Uint8Array(4 * 2 * 3).fill(7);
    const g = letterboxGeometry(4, 2, 4, 4);
    expect([g.padTop, g.padBottom]).toEqual([1, 1]);
    const out = new Float32Array(48);
    letterboxTensor(rgb, g, out);
    const seven = unit(7);
    const pad = [PAD, PAD, PAD, PAD];
    const image = [seven, seven, seven, seven];
    for (const plane of planes(out, 4, 4)) expect(plane).toEqual([pad, image, image, pad]);
    expect(PAD).toBe(Math.fround(114 / 255));
  });

  it('pads left and right, and sends an odd leftover row to the bottom', () => {
    const g = letterboxGeometry(2, 4, 4, 4);
    const out = new Float32Array(48);
    letterboxTensor(new Uint8Array(2 * 4 * 3), g, out);
    for (const plane of planes(out, 4, 4)) for (const row of plane) expect(row).toEqual([PAD, 0, 0, PAD]);

    const line = letterboxGeometry(4, 1, 4, 4);
    expect([line.padTop, line.padBottom]).toEqual([1, 2]);
    letterboxTensor(new Uint8Array(4 * 3).fill(255), line, out);
    const pad = [PAD, PAD, PAD, PAD];
    for (const plane of planes(out, 4, 4)) expect(plane).toEqual([pad, [1, 1, 1, 1], pad, pad]);
  });

  it('writes at `offset` for a batch, leaving the rest of the tensor alone', () => {
    const g = letterboxGeometry(1, 1, 2, 2);
    const out = new Float32Array(2 * 12 + 1).fill(-1);
    letterboxTensor(Uint8Array.from([255, 0, 51]), g, out, 12);
    expect(Array.from(out.subarray(0, 12))).toEqual(new Array(12).fill(-1));
    expect(planes(out, 2, 2, 12)).toEqual([
      [
        [1, 1],
        [1, 1],
      ],
      [
        [0, 0],
        [0, 0],
      ],
      bytes([51, 51], [51, 51]),
    ]);
    expect(out[24]).toBe(-1);
    letterboxTensor(Uint8Array.from([0, 0, 0]), g, out, 0);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(out[12]).toBe(1);
  });

  it('throws RangeError for a byte count that does not match the image size', () => {
    const g = letterboxGeometry(2, 2, 4, 4);
    expect(() => letterboxTensor(new Uint8Array(11), g, new Float32Array(48))).toThrow(
      new RangeError('expected 12 RGB bytes for 2×2, got 11'),
    );
  });

  it('throws RangeError when the tensor has no room at the offset', () => {
    const g = letterboxGeometry(2, 2, 4, 4);
    const rgb = new Uint8Array(12);
    expect(() => letterboxTensor(rgb, g, new Float32Array(47))).toThrow(
      new RangeError('tensor of 47 floats has no room for 48 at offset 0'),
    );
    expect(() => letterboxTensor(rgb, g, new Float32Array(96), 49)).toThrow(RangeError);
    expect(() => letterboxTensor(rgb, g, new Float32Array(96), -1)).toThrow(RangeError);
    expect(() => letterboxTensor(rgb, g, new Float32Array(96), 1.5)).toThrow(RangeError);
    expect(() => letterboxTensor(rgb, g, new Float32Array(96), 48)).not.toThrow();
  });

  it("stays within a few grey levels of sharp's own linear resize of bus.jpg at 640", async () => {
    const image = await decodeImage(readFileSync(path.join(sharedDir, 'images', 'bus.jpg')), {
      maxPixels: 100_000_000,
    });
    const g = letterboxGeometry(image.width, image.height, 640, 640);
    expect([g.newWidth, g.newHeight, g.padLeft, g.padRight]).toEqual([480, 640, 80, 80]);
    const out = new Float32Array(3 * 640 * 640);
    letterboxTensor(image.rgb, g, out);
    const reference = await sharp(image.rgb, {
      raw: { width: image.width, height: image.height, channels: 3 },
    })
      .resize(g.newWidth, g.newHeight, { kernel: 'linear', fit: 'fill' })
      .raw()
      .toBuffer();
    const plane = 640 * 640;
    let sum = 0;
    let padOk = true;
    for (let y = 0; y < 640; y++) {
      for (let c = 0; c < 3; c++) {
        const row = c * plane + y * 640;
        for (let x = 0; x < 80; x++) padOk &&= out[row + x] === PAD && out[row + 560 + x] === PAD;
        for (let x = 0; x < 480; x++) {
          sum += Math.abs(Math.round(out[row + 80 + x] * 255) - reference[(y * 480 + x) * 3 + c]);
        }
      }
    }
    expect(padOk).toBe(true);
    // Measured 4.0: the two resamplers differ in detail (sharp filters, OpenCV samples), but a channel
    // swap or a one-pixel shift reads 12 or more.
    expect(sum / (480 * 640 * 3)).toBeLessThan(6);
  });
});
