/**
 * Tiled analysis end to end: a 4096×4096 16-bit micrograph-sized image made of the sample photos at
 * their original scale, analysed in tiles (auto) and in one letterboxed pass (SCOPEHIVE_TILING=never),
 * and a person placed across a tile seam, which must be counted once.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { type Tile, tileGrid } from '@scopehive/inference';
import type { ResultDocument } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  iou,
  makeDataDir,
  metricValue,
  readJson,
  removeDataDir,
  resultFiles,
  sharedImage,
  startTestPipeline,
  waitFor,
} from './helpers/pipeline.ts';

const MODEL = 'yolov8n-fp32';
const INPUT = 640;
const SIZE = 4096;
const MOSAIC = 'mosaic-4096.tif';
const SEAM = 'seam.png';

type Box = [number, number, number, number];

/** The people of MODELS.md's reference detections for yolov8n-fp32, in each photo's pixels. */
const PEOPLE: Record<string, Box[]> = {
  'bus.jpg': [
    [672, 375, 810, 879],
    [221, 408, 344, 857],
    [50, 397, 243, 904],
    [0, 550, 61, 871],
  ],
  'zidane.jpg': [
    [118, 194, 1113, 710],
    [750, 40, 1139, 709],
  ],
};

/** Where the photos go on the 4096×4096 grey canvas, at their original scale, none overlapping. */
const PLACEMENTS: Array<{ photo: string; left: number; top: number }> = [
  ...[100, 1000, 1900, 2800].map((left) => ({ photo: 'bus.jpg', left, top: 100 })),
  { photo: 'zidane.jpg', left: 100, top: 1350 },
  { photo: 'zidane.jpg', left: 1500, top: 1350 },
  { photo: 'bus.jpg', left: 2900, top: 1350 },
  ...[100, 1000, 1900].map((left) => ({ photo: 'bus.jpg', left, top: 2600 })),
  { photo: 'zidane.jpg', left: 2800, top: 2600 },
];

/** Every reference person of the mosaic, in mosaic pixels. */
const MOSAIC_PEOPLE: Box[] = PLACEMENTS.flatMap(({ photo, left, top }) =>
  PEOPLE[photo].map(([x1, y1, x2, y2]): Box => [x1 + left, y1 + top, x2 + left, y2 + top]),
);

/** The mosaic as an uncompressed 16-bit greyscale TIFF, as a camera or SEM would save a 4k frame. */
async function mosaicTiff(): Promise<Buffer> {
  const photos = Object.fromEntries(
    await Promise.all(
      Object.keys(PEOPLE).map(async (name) => [name, await fs.readFile(sharedImage(name))] as const),
    ),
  );
  return sharp({ create: { width: SIZE, height: SIZE, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite(PLACEMENTS.map(({ photo, left, top }) => ({ input: photos[photo], left, top })))
    .greyscale()
    .toColourspace('grey16')
    .tiff({ compression: 'none' })
    .toBuffer();
}

/**
 * An image one tile high and two tiles wide for the 640 model, with the tallest bus.jpg person placed
 * across the middle of the overlap, so that neither tile sees all of them.
 */
async function seamImage(): Promise<{ png: Buffer; tiles: Tile[]; person: Box }> {
  const width = 2 * INPUT - Math.round(INPUT * 0.2);
  const tiles = tileGrid(width, INPUT, { tileWidth: INPUT, tileHeight: INPUT, overlap: 0.2 });
  const [reference] = PEOPLE['bus.jpg'].filter((b) => b[0] === 50); // [50, 397, 243, 904]
  const overlapStart = tiles[1].x;
  const overlapEnd = tiles[0].x + tiles[0].width;
  const left = Math.round((overlapStart + overlapEnd) / 2 - (reference[0] + reference[2]) / 2);
  const cropTop = 380;
  const crop = await sharp(sharedImage('bus.jpg'))
    .extract({ left: 0, top: cropTop, width: width - left, height: INPUT })
    .toBuffer();
  const png = await sharp({
    create: { width, height: INPUT, channels: 3, background: { r: 114, g: 114, b: 114 } },
  })
    .composite([{ input: crop, left, top: 0 }])
    .png()
    .toBuffer();
  const person: Box = [
    reference[0] + left,
    reference[1] - cropTop,
    reference[2] + left,
    reference[3] - cropTop,
  ];
  return { png, tiles, person };
}

const persons = (doc: ResultDocument) => doc.detections.filter((d) => d.class === 'person');

/** Reference people found by a person box with IoU >= 0.5. */
const found = (doc: ResultDocument) =>
  MOSAIC_PEOPLE.filter((ref) => persons(doc).some((d) => iou(d.box, ref) >= 0.5)).length;

/** Data folders made so far: each run removes its own, afterAll whatever a timed-out run left. */
const dataDirs: string[] = [];

/** Starts a pipeline on a fresh data folder, drops `images`, returns their results and /metrics, stops it. */
async function analyse(env: Record<string, string>, images: Record<string, Buffer>) {
  const dataDir = await makeDataDir();
  dataDirs.push(dataDir);
  await fs.mkdir(path.join(dataDir, 'models'));
  await addModel(path.join(dataDir, 'models'), MODEL);
  const run = await startTestPipeline(dataDir, { SCOPEHIVE_ANNOTATE: 'false', ...env });
  try {
    for (const [name, bytes] of Object.entries(images))
      await fs.writeFile(path.join(run.inboxDir, name), bytes);
    const docs: Record<string, ResultDocument> = {};
    for (const name of Object.keys(images)) {
      const { json } = resultFiles(run.resultsDir, name, MODEL);
      docs[name] = await waitFor(() => readJson<ResultDocument>(json), 90_000, `the result of ${name}`);
    }
    await run.quiet();
    return { docs, metrics: await run.metrics() };
  } finally {
    await run.close();
    await removeDataDir(dataDir);
  }
}

describe('tiled analysis of large images', () => {
  let tiled: ResultDocument;
  let single: ResultDocument;
  let seamDoc: ResultDocument;
  let seam: Awaited<ReturnType<typeof seamImage>>;
  let metrics: string;

  beforeAll(async () => {
    const mosaic = await mosaicTiff();
    seam = await seamImage();
    const auto = await analyse({}, { [MOSAIC]: mosaic, [SEAM]: seam.png });
    tiled = auto.docs[MOSAIC];
    seamDoc = auto.docs[SEAM];
    metrics = auto.metrics;
    single = (await analyse({ SCOPEHIVE_TILING: 'never' }, { [MOSAIC]: mosaic })).docs[MOSAIC];
  }, 180_000);

  afterAll(async () => {
    for (const dir of dataDirs) await removeDataDir(dir);
  });

  it('reads the 16-bit TIFF and stretches it to 8 bits', () => {
    expect(tiled.image).toMatchObject({ width: SIZE, height: SIZE, format: 'tiff' });
    expect(tiled.intensityMapping).toMatchObject({ rule: 'percentile' });
    expect(tiled.analysedArea).toMatchObject({ width: SIZE, height: SIZE });
  });

  it('uses 64 tiles of 640 pixels with the default 20 % overlap, and one pass when told never', () => {
    expect(tiled.tiling).toEqual({ tiles: 64, mode: 'auto', overlap: 0.2, wholeImagePass: false });
    expect(single.tiling).toMatchObject({ tiles: 1, mode: 'never' });
  });

  it('finds the people at their original scale in tiles, and fewer in one shrunken pass', () => {
    const numbers =
      `${MOSAIC_PEOPLE.length} reference people; tiled: ${persons(tiled).length} persons, ` +
      `${found(tiled)} references found; single pass: ${persons(single).length} persons, ${found(single)} found`;
    // Conservative: the photos are grey here and the tallest people are cut by seams.
    expect(found(tiled), numbers).toBeGreaterThanOrEqual(Math.ceil(MOSAIC_PEOPLE.length * 0.6));
    expect(persons(single).length, numbers).toBeLessThan(persons(tiled).length);
    expect(found(single), numbers).toBeLessThan(found(tiled));
    // Shrunk 6.4 times, the narrowest people (61 px wide at the edge of bus.jpg) vanish; tiles see them.
    const missedBySingle = MOSAIC_PEOPLE.filter(
      (ref) => !persons(single).some((d) => iou(d.box, ref) >= 0.5),
    );
    const foundByTiles = missedBySingle.filter((ref) => persons(tiled).some((d) => iou(d.box, ref) >= 0.5));
    expect(missedBySingle.length, numbers).toBeGreaterThan(0);
    expect(foundByTiles.length, numbers).toBeGreaterThanOrEqual(Math.ceil(missedBySingle.length / 2));
  });

  it('counts nothing twice at the seams, and keeps every box inside the image', () => {
    for (const doc of [tiled, single, seamDoc]) {
      const { width, height } = doc.image;
      for (const d of doc.detections) {
        const [x1, y1, x2, y2] = d.box;
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x2).toBeLessThanOrEqual(width);
        expect(y2).toBeLessThanOrEqual(height);
        expect(x2).toBeGreaterThan(x1);
        expect(y2).toBeGreaterThan(y1);
      }
      doc.detections.forEach((a, i) => {
        for (const b of doc.detections.slice(i + 1)) {
          if (a.class === b.class)
            expect(iou(a.box, b.box), `${a.class} ${a.box} / ${b.box}`).toBeLessThanOrEqual(0.5);
        }
      });
    }
  });

  it('reports a person standing across a tile seam once, with its full extent', () => {
    const { tiles, person } = seam;
    // The premise: two tiles, and no tile holds the whole person.
    expect(tiles).toHaveLength(2);
    expect(tiles.some((t) => person[0] >= t.x && person[2] <= t.x + t.width)).toBe(false);
    expect(seamDoc.tiling.tiles).toBe(2);

    const onPerson = persons(seamDoc).filter((d) => {
      const [x1, y1, x2, y2] = d.box;
      const inside =
        Math.max(0, Math.min(x2, person[2]) - Math.max(x1, person[0])) *
        Math.max(0, Math.min(y2, person[3]) - Math.max(y1, person[1]));
      return inside / ((x2 - x1) * (y2 - y1)) > 0.5;
    });
    expect(onPerson, JSON.stringify(persons(seamDoc))).toHaveLength(1);
    const [box] = onPerson.map((d) => d.box);
    expect(iou(box, person)).toBeGreaterThanOrEqual(0.7);
    // One box reaching across both tile edges inside the person.
    expect(box[0]).toBeLessThan(tiles[1].x);
    expect(box[2]).toBeGreaterThan(tiles[0].x + tiles[0].width);
  });

  it('exports the tiles per image', () => {
    const series = (name: string, labels: Record<string, string>) =>
      metricValue(metrics, name, { node: 'test-node', model: MODEL, ...labels });
    expect(series('scopehive_tiles_per_image_count', {})).toBe(2);
    expect(series('scopehive_tiles_per_image_sum', {})).toBe(64 + 2);
    expect(series('scopehive_tiles_per_image_bucket', { le: '36' })).toBe(1);
    expect(series('scopehive_tiles_per_image_bucket', { le: '64' })).toBe(2);
  });
});
