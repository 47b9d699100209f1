/**
 * What the run did, read from the shares once it is over: per node the images it analysed (each
 * result document names its node), the images with no result on their origin (lost), and every
 * result written more than once or anywhere but on its origin's share (duplicated).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ResultDocument, resultPaths } from '@scopehive/shared';
import { capacity, type SimNode } from './fleet.ts';
import type { Placed } from './images.ts';
import { STAND_IN_MODEL } from './stand-in.ts';

export interface NodeReport {
  node: string;
  msPerImage: number;
  images: number;
  share: number;
  expectedShare: number;
  role: 'microscope' | 'worker';
}

export interface Tally {
  nodes: NodeReport[];
  done: number;
  lost: number;
  /** Results on a share other than their origin's (a worker has no share: any file there counts). */
  foreign: number;
}

async function readDoc(file: string): Promise<ResultDocument | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ResultDocument;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const round = (v: number) => Number(v.toFixed(4));

/** Tallies the shares: `resultsDir(node)` is each node's results folder. */
export async function tally(
  nodes: readonly SimNode[],
  placed: readonly Placed[],
  resultsDir: (node: string) => string,
): Promise<Tally> {
  const byNode = new Map(nodes.map((n) => [n.name, 0]));
  const origins = new Map(placed.map((p) => [p.image, p.origin]));
  let lost = 0;
  for (const { image, origin } of placed) {
    const doc = await readDoc(resultPaths(resultsDir(origin), image, STAND_IN_MODEL).json);
    if (!doc) {
      lost += 1;
      continue;
    }
    byNode.set(doc.node, (byNode.get(doc.node) ?? 0) + 1);
  }
  let foreign = 0;
  for (const node of nodes) {
    for (const file of await filesUnder(resultsDir(node.name))) {
      if (!node.microscope) {
        foreign += 1;
        continue;
      }
      const image = /^(.*)\.[^.]+\.json$/.exec(file)?.[1];
      if (image && origins.has(image) && origins.get(image) !== node.name) foreign += 1;
    }
  }
  const done = placed.length - lost;
  const fleet = nodes.reduce((sum, n) => sum + capacity(n), 0);
  return {
    done,
    lost,
    foreign,
    nodes: nodes.map((n) => {
      const images = byNode.get(n.name) ?? 0;
      return {
        node: n.name,
        msPerImage: n.msPerImage,
        images,
        share: done > 0 ? round(images / done) : 0,
        expectedShare: round(capacity(n) / fleet),
        role: n.microscope ? 'microscope' : 'worker',
      };
    }),
  };
}
