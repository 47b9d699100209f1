/**
 * A region's outline as ImageJ's "Analyze Particles" traces it, and the perimeter it reports.
 *
 * Analyze Particles scans the image in raster order; at the first pixel of each particle it runs the
 * Wand (ij.gui.Wand, legacy mode on a thresholded image, which traces 8-connected pixels) from that
 * pixel and keeps the traced polygon: vertices on pixel corners, only where the direction changes.
 * Perim. is PolygonRoi.getTracedPerimeter of that polygon: the edge lengths minus a corner correction.
 * The perimeter depends on where the trace starts, so the start and the walking rules follow the Wand
 * exactly (re-implemented from its documented algorithm, not copied).
 */

/** A binary region on a local grid: `inside[y * width + x]` is 1 for the region's pixels. */
export interface Bitmap {
  inside: Uint8Array;
  width: number;
  height: number;
}

/** A closed polygon on pixel corners; vertex (x, y) is the top-left corner of pixel (x, y). */
export interface Outline {
  xs: number[];
  ys: number[];
}

/**
 * The 8-connected components of a bitmap, in the order Analyze Particles meets them (by their first
 * pixel in raster order). `component[i]` is the index of pixel i's component, -1 outside.
 */
export function components8(bitmap: Bitmap): { component: Int32Array; starts: number[] } {
  const { inside, width, height } = bitmap;
  const component = new Int32Array(width * height).fill(-1);
  const starts: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < inside.length; start++) {
    if (!inside[start] || component[start] !== -1) continue;
    const id = starts.length;
    starts.push(start);
    component[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % width;
      const y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (inside[j] && component[j] === -1) {
            component[j] = id;
            stack.push(j);
          }
        }
      }
    }
  }
  return { component, starts };
}

/**
 * The outer outline of the 8-connected component whose first raster pixel is `start`, as the Wand
 * traces it: from that pixel it walks right to the end of the run, then follows the border with the
 * outside on its left, turning left whenever it can (8-connectivity), and records a vertex at every
 * change of direction. Holes are not traced: the outline is the outer border only.
 */
export function traceOutline(bitmap: Bitmap, start: number): Outline {
  const { inside, width, height } = bitmap;
  const at = (x: number, y: number): boolean =>
    x >= 0 && x < width && y >= 0 && y < height && inside[y * width + x] === 1;
  // The pixel seen from vertex (x, y) in a direction: 0 lower right, 1 upper right, 2 upper left, 3 lower left.
  const seen = (x: number, y: number, direction: number): boolean => {
    switch (direction & 3) {
      case 0:
        return at(x, y);
      case 1:
        return at(x, y - 1);
      case 2:
        return at(x - 1, y - 1);
      default:
        return at(x - 1, y);
    }
  };
  let startX = start % width;
  let startY = (start - startX) / width;
  while (at(startX, startY)) startX++;
  // The Wand starts on the run's right end, whose pixel is outside: it walks down from the vertex below.
  const startDirection = 3;
  startY++;
  const xs: number[] = [];
  const ys: number[] = [];
  let x = startX;
  let y = startY;
  let direction = startDirection;
  do {
    let next = direction + 1;
    while (!seen(x, y, next)) {
      next--;
      if (next < direction) break;
    }
    if (next !== direction) {
      xs.push(x);
      ys.push(y);
    }
    switch (next & 3) {
      case 0:
        x++;
        break;
      case 1:
        y--;
        break;
      case 2:
        x--;
        break;
      default:
        y++;
    }
    direction = next;
  } while (x !== startX || y !== startY || (direction & 3) !== startDirection);
  // The Wand closes with the start vertex when it is a corner; it compares x only, and so do we.
  if (xs[0] !== x) {
    xs.push(x);
    ys.push(y);
  }
  return { xs, ys };
}

/**
 * PolygonRoi.getTracedPerimeter: the sum of the edges, minus (w + h − √(w² + h²)) for every corner
 * counted the way ImageJ counts them (a corner after an edge longer than one pixel, or after a
 * non-corner), so a one-pixel staircase is measured as a diagonal. `w` and `h` are the pixel size.
 */
export function tracedPerimeter(outline: Outline, w = 1, h = 1): number {
  const { xs, ys } = outline;
  const n = xs.length;
  if (n < 4) return 0;
  let sumDx = 0;
  let sumDy = 0;
  let corners = 0;
  let dx1 = xs[0] - xs[n - 1];
  let dy1 = ys[0] - ys[n - 1];
  let side1 = Math.abs(dx1) + Math.abs(dy1);
  let corner = false;
  for (let i = 0; i < n; i++) {
    const next = i + 1 === n ? 0 : i + 1;
    const dx2 = xs[next] - xs[i];
    const dy2 = ys[next] - ys[i];
    sumDx += Math.abs(dx1);
    sumDy += Math.abs(dy1);
    const side2 = Math.abs(dx2) + Math.abs(dy2);
    if (side1 > 1 || !corner) {
      corner = true;
      corners++;
    } else {
      corner = false;
    }
    dx1 = dx2;
    dy1 = dy2;
    side1 = side2;
  }
  return sumDx * w + sumDy * h - corners * (w + h - Math.sqrt(w * w + h * h));
}
