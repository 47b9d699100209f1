import sharp from 'sharp';
import type { Detection } from '../core/types.ts';
import type { RgbImage } from '../image/decode-image.ts';

/** Saturated colours that stay distinct on grey micrographs as well as on photos. */
const PALETTE = ['#ff3838', '#00c2ff', '#ffb21d', '#3ddb86', '#ff37c7', '#8c5cff', '#cfd231', '#ff701f', '#1a9334', '#ffffff'];

export function classColour(classId: number): string {
  return PALETTE[classId % PALETTE.length];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An SVG overlay of boxes and labels sized to the image: line width and font scale with the image,
 * each label sits on a filled tab in the class colour with a dark outline so it reads on any background.
 */
export function annotationSvg(width: number, height: number, detections: readonly Detection[]): string {
  const line = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(12, Math.round(Math.min(width, height) / 45));
  const parts: string[] = [];
  for (const d of detections) {
    const [x1, y1, x2, y2] = d.box;
    const colour = classColour(d.classId);
    const label = escapeXml(`${d.className} ${d.score.toFixed(2)}`);
    const labelW = Math.round(font * 0.62 * (d.className.length + 5) + font * 0.5);
    const labelH = Math.round(font * 1.35);
    const ly = y1 - labelH >= 0 ? y1 - labelH : y1;
    const lx = Math.min(Math.max(0, x1), Math.max(0, width - labelW));
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="#000" stroke-opacity="0.6" stroke-width="${line + 2}"/>`,
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${line}"/>`,
      `<rect x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" width="${labelW}" height="${labelH}" fill="${colour}" stroke="#000" stroke-width="1"/>`,
      `<text x="${(lx + font * 0.25).toFixed(1)}" y="${(ly + labelH * 0.78).toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" font-weight="bold" fill="#fff" stroke="#000" stroke-width="${Math.max(1, font / 10).toFixed(1)}" paint-order="stroke">${label}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** The image with its detections drawn, as JPEG bytes. */
export async function annotateImage(image: RgbImage, detections: readonly Detection[]): Promise<Buffer> {
  const base = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  const overlay = detections.length > 0 ? [{ input: Buffer.from(annotationSvg(image.width, image.height, detections)) }] : [];
  return base.composite(overlay).jpeg({ quality: 88 }).toBuffer();
}
