import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '@scopehive/shared';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/loader.ts';
import type { LoadedModel } from '../../src/model/model.ts';
import { createPipelineMetrics, MAX_HELD_SIZES } from '../../src/pipeline/metrics.ts';
import { PipelineTelemetry } from '../../src/pipeline/telemetry.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const modelName = 'yolo11n_int8';

/** Lines of the registry's /metrics text for `name` (its histogram parts included). */
async function linesOf(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith(name));
}

function count(lines: string[], cls: string): number | undefined {
  const line = lines.find(
    (l) => l.startsWith('scopehive_feature_size_meters_count') && l.includes(`class="${cls}"`),
  );
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('feature-size series', () => {
  let model: LoadedModel;

  beforeAll(async () => {
    const file = path.join(sharedDir, 'models', `${modelName}.onnx`);
    const bytes = readFileSync(file);
    model = await loadModel({
      name: modelName,
      file,
      bytes,
      sha256: sha256(bytes),
      providers: ['cpu'],
      threads: 1,
      sessions: 1,
      defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
    });
  });
  afterAll(() => model?.dispose());

  it('do not exist for a loaded model before any image: only its classes it has measured get one', async () => {
    const registry = new Registry();
    const metrics = createPipelineMetrics(registry, { rateWindowS: 60 });
    new PipelineTelemetry(pino({ level: 'silent' }), metrics).zero([model]);
    expect(model.names).toHaveLength(80);
    // Detections per class still start at zero (80 series), sizes do not (80 × 22 before).
    expect(await linesOf(registry, 'scopehive_detections_total{')).toHaveLength(80);
    expect(await linesOf(registry, 'scopehive_feature_size_meters')).toEqual([]);

    metrics.featureSizeMeters.observe({ model: modelName, class: 'person' }, 2e-6);
    const sizes = await linesOf(registry, 'scopehive_feature_size_meters');
    // 19 buckets, +Inf, sum and count: one class's series, no other class's.
    expect(sizes).toHaveLength(22);
    expect(sizes.every((l) => l.includes('class="person"'))).toBe(true);
  });

  it('before any scrape take sizes at once; once scraped, a new class shows zero for one scrape first', async () => {
    const registry = new Registry();
    const sizes = createPipelineMetrics(registry, { rateWindowS: 60 }).featureSizeMeters;
    sizes.observe({ model: modelName, class: 'person' }, 2e-6);
    expect(count(await linesOf(registry, 'scopehive_feature_size_meters'), 'person')).toBe(1);

    // Prometheus now reads /metrics: a class first measured appears at zero, so that increase()
    // over its first two samples counts the sizes that come in at the next scrape.
    sizes.observe({ model: modelName, class: 'bus' }, 5e-6);
    sizes.observe({ model: modelName, class: 'bus' }, 6e-6);
    sizes.observe({ model: modelName, class: 'person' }, 3e-6);
    let scrape = await linesOf(registry, 'scopehive_feature_size_meters');
    expect(count(scrape, 'bus')).toBe(0);
    expect(count(scrape, 'person')).toBe(2);
    sizes.observe({ model: modelName, class: 'bus' }, 7e-6);
    scrape = await linesOf(registry, 'scopehive_feature_size_meters');
    expect(count(scrape, 'bus')).toBe(3);
    expect(scrape).toContain(
      `scopehive_feature_size_meters_bucket{le="0.00001",model="${modelName}",class="bus"} 3`,
    );
    // From then on the series takes sizes at once.
    sizes.observe({ model: modelName, class: 'bus' }, 8e-6);
    expect(count(await linesOf(registry, 'scopehive_feature_size_meters'), 'bus')).toBe(4);
  });

  it(`hold back at most ${MAX_HELD_SIZES} sizes when the scraper stops reading`, async () => {
    const registry = new Registry();
    const sizes = createPipelineMetrics(registry, { rateWindowS: 60 }).featureSizeMeters;
    await registry.metrics();
    for (let i = 0; i <= MAX_HELD_SIZES; i++) sizes.observe({ model: modelName, class: 'cell' }, 1e-5);
    // Read without collecting again: only what the histogram holds itself.
    const scrape = await linesOf(registry, 'scopehive_feature_size_meters');
    expect(count(scrape, 'cell')).toBe(MAX_HELD_SIZES + 1);
  });
});
