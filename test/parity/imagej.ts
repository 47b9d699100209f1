/**
 * The ImageJ parity harness: the real ImageJ (Debian's imagej, headless under xvfb-run) measures a
 * 16-bit label image the way a scientist would check ours: for each label k present, threshold k..k
 * and run "Analyze Particles" (no "include holes", no "exclude on edges") with every Set Measurements
 * column, grey values redirected to a second image. One ImageJ start measures every label.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const run = promisify(execFile);

/** One row of ImageJ's Results table: its column headings to values, plus `k`, the label measured. */
export type ImageJRow = Record<string, number>;

export interface ImageJCalibration {
  /** pixel width and height in `unit` */
  x: number;
  y: number;
  unit: string;
}

/** Writes a 16-bit greyscale PNG (labels or grey values) and checks it really is 16-bit. */
export async function writeGrey16Png(path: string, values: Uint16Array, width: number, height: number) {
  await sharp(values, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(path);
  const meta = await sharp(path).metadata();
  if (meta.depth !== 'ushort' || meta.channels !== 1) {
    throw new Error(`${path} is ${meta.depth} with ${meta.channels} channels, not 16-bit grey`);
  }
}

/**
 * Runs ImageJ on a 16-bit label PNG and a grey PNG of the same size; returns one row per particle,
 * in label order (a label in several 8-connected pieces gives several rows with the same `k`).
 */
export async function runImageJ(
  labelPng: string,
  greyPng: string,
  calibration?: ImageJCalibration,
): Promise<ImageJRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'scopehive-imagej-'));
  try {
    const csv = join(dir, 'results.csv');
    const macro = join(dir, 'measure.ijm');
    await writeFile(macro, measureMacro(labelPng, greyPng, csv, calibration));
    const { stdout, stderr } = await run(
      'xvfb-run',
      ['-a', 'java', '-jar', '/usr/share/java/ij.jar', '-batch', macro],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const text = await readFile(csv, 'utf8').catch(() => {
      throw new Error(`ImageJ wrote no results: ${`${stdout}\n${stderr}`.trim().slice(0, 2000)}`);
    });
    return parseResults(text);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A macro string literal. */
function literal(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function measureMacro(
  labelPng: string,
  greyPng: string,
  csv: string,
  calibration?: ImageJCalibration,
): string {
  const properties = calibration
    ? `run("Properties...", "channels=1 slices=1 frames=1 unit=${calibration.unit} pixel_width=${calibration.x} pixel_height=${calibration.y} voxel_depth=1");`
    : 'run("Properties...", "channels=1 slices=1 frames=1 unit=pixel pixel_width=1 pixel_height=1 voxel_depth=1");';
  return `setBatchMode(true);
open(${literal(greyPng)});
if (bitDepth() != 16) exit("grey image opened as " + bitDepth() + "-bit");
${properties}
grey = getTitle();
open(${literal(labelPng)});
if (bitDepth() != 16) exit("label image opened as " + bitDepth() + "-bit");
${properties}
run("Set Measurements...", "area mean min centroid perimeter bounding fit shape feret's integrated redirect=[" + grey + "] decimal=9");
getHistogram(values, counts, 65536);
run("Clear Results");
for (k = 1; k < 65536; k++) {
  if (counts[k] > 0) {
    first = nResults;
    setThreshold(k, k);
    run("Analyze Particles...", "size=0-Infinity display");
    for (i = first; i < nResults; i++) setResult("k", i, k);
  }
}
updateResults();
saveAs("Results", ${literal(csv)});
`;
}

function parseResults(text: string): ImageJRow[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const headings = lines[0].split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: ImageJRow = {};
    headings.forEach((heading, i) => {
      if (heading.trim() !== '') row[heading] = Number(cells[i]);
    });
    return row;
  });
}
