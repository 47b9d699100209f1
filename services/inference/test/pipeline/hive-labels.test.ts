/**
 * The label image that comes back with a worker's result: written when it is the image's 16-bit
 * labels, and otherwise left out with a warning in the document (never a wrong file on the share).
 */
import type { HiveResult } from '@scopehive/shared/hive';
import { pino } from 'pino';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { receivedLabels } from '../../src/pipeline/hive-results.ts';
import { encodeLabelPng } from '../../src/results/label-image.ts';

const logger = pino({ level: 'silent' });

function result(extra: Partial<HiveResult>): HiveResult {
  const doc = {
    image: { path: 'a.tif', width: 4, height: 3 },
    model: { name: 'seg' },
    node: 'worker-b',
    warnings: [],
  };
  return { job: {}, doc, ...extra } as unknown as HiveResult;
}

describe('receivedLabels', () => {
  it('gives back the labels the worker encoded', async () => {
    const labels = Uint16Array.from([0, 1, 1, 0, 0, 2, 2, 0, 300, 0, 0, 0]);
    const sent = result({ labels: await encodeLabelPng(labels, 4, 3) });
    expect([...((await receivedLabels(sent, logger)) ?? [])]).toEqual([...labels]);
    expect(sent.doc.warnings).toEqual([]);
  });

  it('leaves out, with a warning, a label image of another size, an 8-bit one or garbage', async () => {
    const other = await encodeLabelPng(new Uint16Array(6), 3, 2);
    const eightBit = await sharp(Buffer.alloc(12), { raw: { width: 4, height: 3, channels: 1 } })
      .png()
      .toBuffer();
    const cases: Array<[Buffer, RegExp]> = [
      [other, /is 3×2, not the image's 4×3/],
      [eightBit, /not a one-channel 16-bit PNG/],
      [Buffer.from('not a png'), /not a one-channel 16-bit PNG/],
    ];
    for (const [labels, why] of cases) {
      const sent = result({ labels });
      expect(await receivedLabels(sent, logger)).toBeUndefined();
      expect(sent.doc.warnings).toHaveLength(1);
      expect(sent.doc.warnings[0]).toMatch(why);
      expect(sent.doc.warnings[0]).toMatch(/node worker-b/);
    }
  });

  it('says in the document that a label image too large to travel stayed on the worker', async () => {
    const sent = result({ labelsOmittedBytes: 2_000_000 });
    expect(await receivedLabels(sent, logger)).toBeUndefined();
    expect(sent.doc.warnings).toEqual([
      "the label image (2000000 bytes) was larger than a NATS message may be and stayed on node worker-b; the table's mask measurements stand without it",
    ]);
  });
});
