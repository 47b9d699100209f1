import fs from 'node:fs';
import { decodeImage, letterboxGeometry, letterboxInto } from '@scopehive/inference';
import sharp from 'sharp';
import { annotateImage } from './services/inference/src/results/annotate.ts';

const bytes = fs.readFileSync('/work/shared/images/bus.jpg');
const N = 20;
async function time(name: string, fn: () => Promise<unknown>) {
  await fn();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const c = process.cpuUsage(c0);
  console.log(
    name.padEnd(24),
    ((performance.now() - t0) / N).toFixed(1),
    'ms wall',
    ((c.user + c.system) / 1000 / N).toFixed(1),
    'ms cpu',
  );
}
const img = await decodeImage(bytes, { maxPixels: 1e8 });
const g = letterboxGeometry(img.width, img.height, 640, 640);
const out = new Float32Array(3 * 640 * 640);
const dets = [
  {
    classId: 0,
    className: 'person',
    score: 0.9,
    box: [672, 375, 810, 879] as [number, number, number, number],
  },
  { classId: 5, className: 'bus', score: 0.8, box: [35, 230, 798, 773] as [number, number, number, number] },
];
await time('decode', () => decodeImage(bytes, { maxPixels: 1e8 }));
await time('decode-noflatten', () => sharp(bytes).rotate().raw().toBuffer());
await time('letterbox', () => letterboxInto(img, g, out));
await time('annotate', () => annotateImage(img, dets));
await time('jpeg-encode-only', () =>
  sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality: 88 })
    .toBuffer(),
);
await time('jpeg-encode-q75', () =>
  sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality: 75 })
    .toBuffer(),
);
