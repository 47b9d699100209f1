/**
 * The device check (scripts/device-check.sh): for each model in the models folder, the execution
 * provider that actually loaded, how long the first session took to open (with TensorRT: the engine
 * build, or its load from the cache), images per second over `--runs` runs of bare ONNX Runtime and
 * of the pipeline (decode, letterbox, run, output decoding of a real image), and GPU memory.
 * Options: --runs <n> (default 200), --models <folder> (default the service's models folder),
 * --image <file> (default a generated 1280×960 photo-like JPEG), --json.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, sha256 } from '@scopehive/shared';
import sharp from 'sharp';
import { letterboxGeometry } from '../../services/inference/src/core/letterbox.ts';
import { letterboxTensor } from '../../services/inference/src/core/letterbox-tensor.ts';
import { readAnalysisImage } from '../../services/inference/src/image/read-analysis-image.ts';
import { loadModel } from '../../services/inference/src/model/loader.ts';
import { engineCacheRoot, gpuStackFromEnv } from '../../services/inference/src/model/providers.ts';
import {
  configureGpuSessions,
  nvidiaDevicePresent,
  openSession,
  resolveProviders,
} from '../../services/inference/src/model/session.ts';
import { detectSingle } from '../../services/inference/src/pipeline/infer.ts';
import { kernelL4t, readGpuMemory } from './gpu-memory.ts';
import { formatTable, type ModelCheck } from './report.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    models: { type: 'string' },
    image: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`device-check: --runs must be a whole number of at least 1 (got "${args.runs}")`);
  process.exit(2);
}

const { config } = loadConfig(['paths', 'analysis', 'runtime']);
const modelsDir = path.resolve(args.models ?? config.paths.models);
const stack = gpuStackFromEnv(process.env);
configureGpuSessions({ cacheRoot: engineCacheRoot(config.paths.data), stack });
const providers = resolveProviders(config.runtime.providers, nvidiaDevicePresent());

/** A photo-like test image when none is given: smooth gradients and edges, JPEG like a camera's. */
async function testImage(): Promise<Uint8Array> {
  if (args.image) return fs.readFile(args.image);
  const width = 1280;
  const height = 960;
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const block = ((x >> 6) + (y >> 6)) % 2;
      rgb[i] = (x * 255) / width;
      rgb[i + 1] = (y * 255) / height;
      rgb[i + 2] = block * 200;
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function checkModel(file: string, imageBytes: Uint8Array): Promise<ModelCheck> {
  const bytes = await fs.readFile(file);
  const name = path.basename(file, '.onnx');
  // First open on its own: its time is the engine build (TensorRT, no cache yet) or the load.
  const opened = await openSession(bytes, { providers, threads: 0 });
  const [, , h, w] = opened.session.inputShape.map(Number);
  const side = Number.isInteger(w) && w > 0 ? [h, w] : [640, 640];
  const dims = [1, 3, side[0], side[1]];
  let input: Float32Array = new Float32Array(3 * side[0] * side[1]).fill(0.5);
  input = (await opened.session.run(input, dims)).input; // warm-up, not counted
  let t0 = performance.now();
  for (let i = 0; i < runs; i++) input = (await opened.session.run(input, dims)).input;
  const bareSeconds = (performance.now() - t0) / 1000;
  await opened.session.release();

  // The pipeline's way: the model as the service loads it (engine now cached), a real image.
  const model = await loadModel({
    name,
    file,
    bytes,
    sha256: sha256(bytes),
    providers: [opened.provider],
    threads: 0,
    sessions: 1,
    defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
  });
  try {
    const stretch = { low: config.analysis.stretchLow, high: config.analysis.stretchHigh };
    let buffer: Float32Array = new Float32Array(3 * model.inputWidth * model.inputHeight);
    const once = async () => {
      const image = await readAnalysisImage(imageBytes, {
        fileName: 'device-check.jpg',
        maxPixels: config.analysis.maxPixels,
        stretch,
      });
      const g = letterboxGeometry(image.width, image.height, model.inputWidth, model.inputHeight);
      letterboxTensor(image.rgb, g, buffer);
      await detectSingle(model, buffer, g, (b) => {
        buffer = b;
      });
    };
    await once(); // warm-up, not counted
    t0 = performance.now();
    for (let i = 0; i < runs; i++) await once();
    const pipelineSeconds = (performance.now() - t0) / 1000;
    return {
      model: name,
      provider: opened.provider,
      openSeconds: opened.openMs / 1000,
      engineBuilt: opened.engineBuilt,
      runs,
      bareImagesPerSecond: runs / bareSeconds,
      pipelineImagesPerSecond: runs / pipelineSeconds,
    };
  } finally {
    await model.dispose();
  }
}

const files = (await fs.readdir(modelsDir))
  .filter((f) => f.endsWith('.onnx'))
  .sort()
  .map((f) => path.join(modelsDir, f));
if (files.length === 0) {
  console.error(`device-check: no .onnx model in ${modelsDir}`);
  process.exit(1);
}
const imageBytes = await testImage();
const checks: ModelCheck[] = [];
for (const file of files) {
  try {
    checks.push(await checkModel(file, imageBytes));
  } catch (err) {
    console.error(`device-check: ${path.basename(file)}: ${String((err as Error).message).split('\n')[0]}`);
  }
}
const memory = readGpuMemory();
const kernel = os.release();
const hostL4t = kernelL4t(kernel);
const l4tMismatch = Boolean(hostL4t && process.env.SCOPEHIVE_L4T && hostL4t !== process.env.SCOPEHIVE_L4T);

if (args.json) {
  console.log(JSON.stringify({ stack, providers, kernel, hostL4t, checks, memory }, null, 2));
} else {
  console.log(
    `device ${stack.deviceType} · JetPack ${stack.jetpack ?? '-'} · TensorRT ${stack.tensorrt ?? '-'} · image L4T ${process.env.SCOPEHIVE_L4T ?? '-'} · kernel ${kernel}`,
  );
  console.log(`providers tried in order: ${providers.join(', ')}`);
  console.log('');
  console.log(formatTable(checks));
  console.log('');
  console.log(`GPU memory (${memory.source}):`);
  for (const line of memory.lines) console.log(`  ${line}`);
}
if (l4tMismatch) {
  console.error(
    `device-check: the kernel is L4T ${hostL4t} but the image was built for ${process.env.SCOPEHIVE_L4T}: CUDA will not run; rebuild the image for this balenaOS release`,
  );
}
process.exit(checks.length === files.length && !l4tMismatch ? 0 : 1);
