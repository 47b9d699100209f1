/**
 * The fitted ellipse as ImageJ's EllipseFitter computes it: the ellipse with the region's second
 * moments (each pixel a unit square, hence the 1/12 added to x² and y²), scaled to the region's area.
 * Major and Minor are in pixels; Angle is the major axis' angle in degrees, 0–180, counter-clockwise
 * from the x axis. ImageJ uses the rectangle formula when the region is one pixel wide or high (it
 * has no mask then), and so do we.
 */

export interface Ellipse {
  major: number;
  minor: number;
  angle: number;
}

/** Sums over the region's pixels, x and y relative to the bounding box's top-left pixel. */
export interface Moments {
  count: number;
  sumX: number;
  sumY: number;
  sumXX: number;
  sumYY: number;
  sumXY: number;
}

const HALF_PI = 1.5707963267949;
const SQRT_PI = 1.772453851;

export function fitEllipse(moments: Moments, boxWidth: number, boxHeight: number): Ellipse {
  if (boxWidth <= 1 || boxHeight <= 1) {
    const a = (boxWidth * 2) / SQRT_PI;
    const b = (boxHeight * 2) / SQRT_PI;
    return a < b ? { major: b, minor: a, angle: 90 } : { major: a, minor: b, angle: 0 };
  }
  const n = moments.count;
  const xMean = moments.sumX / n;
  const yMean = moments.sumY / n;
  // ImageJ's 0.08333333 (not 1/12) keeps its last digits.
  const u20 = (moments.sumXX + 0.08333333 * n) / n - xMean * xMean;
  const u02 = (moments.sumYY + 0.08333333 * n) / n - yMean * yMean;
  const u11 = moments.sumXY / n - xMean * yMean;
  let m4 = 4 * Math.abs(u02 * u20 - u11 * u11);
  if (m4 < 0.000001) m4 = 0.000001;
  let a11 = u02 / m4;
  const a12 = u11 / m4;
  let a22 = u20 / m4;
  let difference = a11 - a22;
  if (difference === 0) difference = 0.000001;
  let theta = 0.5 * Math.atan((2 * a12) / difference);
  if (theta < 0) theta += HALF_PI;
  if (a12 > 0) theta += HALF_PI;
  else if (a12 === 0) {
    if (a22 > a11) {
      theta = 0;
      [a11, a22] = [a22, a11];
    } else if (a11 !== a22) theta = HALF_PI;
  }
  let sin = Math.sin(theta);
  if (sin === 0) sin = 0.000001;
  const z = (a12 * Math.cos(theta)) / sin;
  let major = Math.sqrt(1 / Math.abs(a22 + z));
  let minor = Math.sqrt(1 / Math.abs(a11 - z));
  const scale = Math.sqrt(n / (Math.PI * major * minor));
  major *= scale * 2;
  minor *= scale * 2;
  let angle = (180 * theta) / Math.PI;
  if (angle === 180) angle = 0;
  if (major < minor) [major, minor] = [minor, major];
  return { major, minor, angle };
}
