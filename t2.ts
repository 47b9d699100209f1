import fs from 'node:fs';
import sharp from 'sharp';

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
const orig = fs.readFileSync('/work/shared/images/bus.jpg');
console.log(
  await sharp(orig)
    .metadata()
    .then((m) => ({
      p: m.isProgressive,
      chroma: m.chromaSubsampling,
      exif: m.exif?.length,
      icc: m.icc?.length,
    })),
);
const base = await sharp(orig).jpeg({ quality: 92 }).toBuffer();
const { data, info } = await sharp(orig).raw().toBuffer({ resolveWithObject: true });
await time('decode-orig', () => sharp(orig).raw().toBuffer());
await time('decode-baseline', () => sharp(base).raw().toBuffer());
await time('decode-baseline-rot-srgb', () =>
  sharp(base)
    .rotate()
    .flatten({ background: '#727272' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer(),
);
await time('decode+resize', () => sharp(base).resize(480, 640, { kernel: 'linear' }).raw().toBuffer());
await time('raw resize', () =>
  sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .resize(480, 640, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer(),
);
await time('raw resize+extend', () =>
  sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .resize(480, 640, { kernel: 'linear', fit: 'fill' })
    .extend({ left: 80, right: 80, background: '#727272' })
    .raw()
    .toBuffer(),
);
await time('jpeg q88', () =>
  sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ quality: 88 })
    .toBuffer(),
);
await time('jpeg q85 no-opt', () =>
  sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ quality: 85, optimiseCoding: false })
    .toBuffer(),
);
