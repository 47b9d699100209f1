/** Synthetic regions painted into label images, shared by the unit tests and the ImageJ parity test. */

export type Inside = (x: number, y: number) => boolean;

/** Pixel centres are at (x + 0.5, y + 0.5). */
export function disc(cx: number, cy: number, r: number): Inside {
  return (x, y) => (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;
}

export function rect(left: number, top: number, width: number, height: number): Inside {
  return (x, y) => x >= left && x < left + width && y >= top && y < top + height;
}

/**
 * A shape given in its own frame, rotated by `degrees` (counter-clockwise, y up as ImageJ's angles)
 * about the centre: `within(along, across)` tests a pixel centre's coordinates in that frame.
 */
function rotated(
  cx: number,
  cy: number,
  degrees: number,
  within: (along: number, across: number) => boolean,
): Inside {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  return (x, y) => {
    const dx = x + 0.5 - cx;
    const dy = cy - (y + 0.5);
    return within(dx * cos + dy * sin, -dx * sin + dy * cos);
  };
}

/** A `length` × `breadth` rectangle centred at (cx, cy), its long side at `degrees` (counter-clockwise, y up). */
export function rotatedRect(
  cx: number,
  cy: number,
  length: number,
  breadth: number,
  degrees: number,
): Inside {
  return rotated(
    cx,
    cy,
    degrees,
    (along, across) => Math.abs(along) <= length / 2 && Math.abs(across) <= breadth / 2,
  );
}

export function ellipse(cx: number, cy: number, a: number, b: number, degrees: number): Inside {
  return rotated(cx, cy, degrees, (along, across) => (along / a) ** 2 + (across / b) ** 2 <= 1);
}

export function ring(cx: number, cy: number, outer: number, inner: number): Inside {
  const o = disc(cx, cy, outer);
  const i = disc(cx, cy, inner);
  return (x, y) => o(x, y) && !i(x, y);
}

export function union(...parts: Inside[]): Inside {
  return (x, y) => parts.some((p) => p(x, y));
}

/** Paints label k wherever `inside` holds (later paints win). */
export function paint(labels: Uint16Array, width: number, inside: Inside, k: number): void {
  const height = labels.length / width;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) if (inside(x, y)) labels[y * width + x] = k;
}

/** A mask of one region. */
export function maskOf(width: number, height: number, inside: Inside): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = inside(x, y) ? 1 : 0;
  return mask;
}
