/**
 * Micrographs are tiled through the real pipeline (issue 10, item 6): a 2048² greyscale JPEG, which
 * auto used to shrink 3.2× into the 640 input as if it were a photo, is analysed in tiles by default;
 * the colour photo bus.jpg stays whole; a large colour photo stays whole and its result warns that
 * it was shrunk, naming the setting that changes it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  makeDataDir,
  readJson,
  removeDataDir,
  resultFiles,
  sharedImage,
  startTestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

const MODEL = 'yolov8n-fp32';
const GREY = 'grey-2048.jpg';
const COLOUR = 'colour-2048.jpg';
const BUS = 'bus.jpg';

/** bus.jpg repeated over a 2048² canvas, as one-channel grey or in colour. */
async function canvas(grey: boolean): Promise<Buffer> {
  const bus = await sharp(sharedImage(BUS)).resize(512, 683).toBuffer();
  const composite = [0, 512, 1024, 1536].flatMap((left) =>
    [0, 683, 1366].map((top) => ({ input: bus, left, top })),
  );
  const image = sharp({
    create: { width: 2048, height: 2048, channels: 3, background: '#808080' },
  }).composite(composite);
  const flat = await image.jpeg().toBuffer();
  return grey ? sharp(flat).greyscale().jpeg().toBuffer() : flat;
}

let dataDir: string;
const docs: Record<string, ResultDocument> = {};

beforeAll(async () => {
  dataDir = await makeDataDir();
  await fs.mkdir(path.join(dataDir, 'models'));
  await addModel(path.join(dataDir, 'models'), MODEL);
  const images = {
    [GREY]: await canvas(true),
    [COLOUR]: await canvas(false),
    [BUS]: await fs.readFile(sharedImage(BUS)),
  };
  const run = await startTestPipeline(dataDir, { SCOPEHIVE_ANNOTATE: 'false' });
  try {
    for (const [name, bytes] of Object.entries(images))
      await fs.writeFile(path.join(run.inboxDir, name), bytes);
    for (const name of Object.keys(images)) {
      const { json } = resultFiles(run.resultsDir, name, MODEL);
      docs[name] = await waitFor(() => readJson<ResultDocument>(json), 90_000, `the result of ${name}`);
    }
    await run.quiet();
  } finally {
    await run.close();
  }
}, 180_000);

afterAll(async () => {
  await removeDataDir(dataDir);
});

describe('the automatic tiling rule', () => {
  it('tiles a 2048² greyscale JPEG by default', () => {
    expect(docs[GREY].tiling).toMatchObject({ mode: 'auto' });
    expect(docs[GREY].tiling.tiles).toBeGreaterThan(1);
    expect(docs[GREY].warnings.join('\n')).not.toMatch(/shrunk/);
  });

  it('leaves bus.jpg whole, with no warning (shrunk under 2×)', () => {
    expect(docs[BUS].tiling.tiles).toBe(1);
    expect(docs[BUS].warnings.join('\n')).not.toMatch(/shrunk/);
  });

  it('leaves a 2048² colour photo whole, and its result says it was shrunk 3.2× and how to tile it', () => {
    expect(docs[COLOUR].tiling.tiles).toBe(1);
    const warning = docs[COLOUR].warnings.find((w) => w.includes('shrunk'));
    expect(warning).toMatch(/shrunk 3\.2×/);
    expect(warning).toMatch(/"tiling": "always" in the folder's scopehive\.json/);
  });
});
