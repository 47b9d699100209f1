import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.ts';
import { measureMasks } from '../../src/pipeline/measure-features.ts';

/** A filled rectangle mask and its box. */
function square(x: number, y: number, size: number, score: number): Detection {
  return {
    classId: 0,
    className: 'particle',
    score,
    box: [x, y, x + size, y + size],
    mask: { x, y, width: size, height: size, data: new Uint8Array(size * size).fill(1) },
  };
}

const image = { width: 20, height: 20, grey: new Uint16Array(400).fill(1000), rgb: Buffer.alloc(0) };

describe('measureMasks', () => {
  it('measures each mask from its region of the label image, with the 16-bit grey values', () => {
    const { features, labels } = measureMasks(
      image,
      [square(2, 2, 4, 0.9), square(10, 10, 5, 0.8)],
      undefined,
    );
    expect(labels?.filter((k) => k === 1)).toHaveLength(16);
    expect(features.map((f) => f.measurements?.source)).toEqual(['mask', 'mask']);
    expect(features[1].measurements?.pixel).toMatchObject({ Area: 25, Mean: 1000, IntDen: 25_000 });
  });

  it('gives box values, not mask values, to a feature whose mask lies wholly under a stronger one', () => {
    const strong = square(2, 2, 10, 0.9);
    const hidden = square(4, 4, 3, 0.5);
    const { features, labels } = measureMasks(image, [strong, hidden], undefined);
    expect(labels?.includes(2)).toBe(false);
    expect(features[1].measurements).toEqual({
      source: 'box',
      pixel: { Area: 9, X: 5.5, Y: 5.5, Feret: Math.hypot(3, 3) },
    });
  });
});
