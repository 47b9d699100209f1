import { linksRefusedCounter, SlidingRate } from '@scopehive/shared';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Feature sizes from 1 nm to 1 mm, three buckets per decade: nanoparticles to cells on one scale. */
export const featureSizeBuckets = Array.from({ length: 19 }, (_, i) =>
  Number((1e-9 * 10 ** (i / 3)).toPrecision(3)),
);

/** Seconds buckets from 1 ms to 2 min, for stage durations and file-to-result latency. */
const secondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Sizes held for new series, at most, while a scraper has not yet seen them at zero. */
export const MAX_HELD_SIZES = 10_000;

type FeatureLabels = { model: string; class: string };

/**
 * `scopehive_feature_size_meters{model,class}`, a series per class created when the class is first
 * measured, not at model load (80 classes × 22 series per model, nearly all empty, otherwise).
 * Prometheus's increase() cannot count what a series holds when it first appears, so once a scraper
 * reads /metrics a new series is shown at zero for one scrape and its first sizes are added at the
 * next. Before any scrape there is nothing to miss and sizes go in at once; a scraper that stops
 * reading holds back at most MAX_HELD_SIZES sizes, then they go in regardless.
 */
export class FeatureSizes {
  readonly #histogram: Histogram<'model' | 'class'>;
  readonly #seen = new Set<string>();
  /** New series not yet scraped at zero (`shown` false) or scraped once (`shown` true), with their sizes. */
  readonly #held = new Map<string, { labels: FeatureLabels; sizes: number[]; shown: boolean }>();
  #heldCount = 0;
  #scraped = false;

  constructor(registry: Registry) {
    this.#histogram = new Histogram({
      name: 'scopehive_feature_size_meters',
      help: 'Equivalent circular diameter of detected features in calibrated images (metres).',
      labelNames: ['model', 'class'] as const,
      buckets: featureSizeBuckets,
      registers: [registry],
      // Runs on every read of /metrics, before the figures are taken.
      collect: () => {
        this.#scraped = true;
        for (const [key, held] of this.#held) {
          if (held.shown) this.#release(key);
          else held.shown = true;
        }
      },
    });
  }

  observe(labels: FeatureLabels, metres: number): void {
    const key = `${labels.model}\u0000${labels.class}`;
    const held = this.#held.get(key);
    if (held) {
      held.sizes.push(metres);
    } else if (this.#seen.has(key) || !this.#scraped) {
      this.#seen.add(key);
      this.#histogram.observe(labels, metres);
      return;
    } else {
      this.#seen.add(key);
      this.#histogram.zero(labels);
      this.#held.set(key, { labels, sizes: [metres], shown: false });
    }
    if (++this.#heldCount > MAX_HELD_SIZES) for (const k of [...this.#held.keys()]) this.#release(k);
  }

  #release(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    this.#held.delete(key);
    this.#heldCount -= held.sizes.length;
    for (const size of held.sizes) this.#histogram.observe(held.labels, size);
  }
}

export type Outcome = 'ok' | 'rejected' | 'failed' | 'skipped';
export type Stage = 'read' | 'decode' | 'preprocess' | 'inference' | 'postprocess' | 'write';

/**
 * The pipeline's metrics, all prefixed `scopehive_`, in base units, with low-cardinality labels
 * (model, class, stage, outcome, reason; never a file name). The node is a default label.
 */
export function createPipelineMetrics(
  registry: Registry,
  options: { rateWindowS: number; queueDepth?: () => number | Promise<number> },
) {
  const registers = [registry];
  const frameRate = new SlidingRate(options.rateWindowS * 1000);
  return {
    frameRate,
    imagesTotal: new Counter({
      name: 'scopehive_images_total',
      help: 'Images handled, by model and outcome (ok, rejected, failed, skipped).',
      labelNames: ['model', 'outcome'] as const,
      registers,
    }),
    stageSeconds: new Histogram({
      name: 'scopehive_stage_duration_seconds',
      help: 'Time spent per image in each pipeline stage.',
      labelNames: ['model', 'stage'] as const,
      buckets: secondsBuckets,
      registers,
    }),
    fileToResultSeconds: new Histogram({
      name: 'scopehive_file_to_result_seconds',
      help: 'From the complete file seen in the inbox to its result written.',
      labelNames: ['model'] as const,
      buckets: secondsBuckets,
      registers,
    }),
    detectionsTotal: new Counter({
      name: 'scopehive_detections_total',
      help: 'Objects detected, by model and class.',
      labelNames: ['model', 'class'] as const,
      registers,
    }),
    rejectedTotal: new Counter({
      name: 'scopehive_rejected_files_total',
      help: 'Files set aside as unusable, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    modelFrameRate: new Gauge({
      name: 'scopehive_model_frame_rate',
      help: `Images analysed per second by each model over the last ${options.rateWindowS} s.`,
      labelNames: ['model'] as const,
      registers,
      collect() {
        this.reset();
        for (const [model, rate] of frameRate.rates()) this.set({ model }, rate);
      },
    }),
    modelInfo: new Gauge({
      name: 'scopehive_model_info',
      help: 'Loaded models (value 1): execution provider, input size and output layout.',
      labelNames: ['model', 'provider', 'input', 'layout'] as const,
      registers,
    }),
    linksRefusedTotal: linksRefusedCounter(registry),
    modelLoadFailuresTotal: new Counter({
      name: 'scopehive_model_load_failures_total',
      help: 'Model files that failed to load.',
      labelNames: ['model'] as const,
      registers,
    }),
    featureSizeMeters: new FeatureSizes(registry),
    imagesByCalibrationTotal: new Counter({
      name: 'scopehive_images_by_calibration_total',
      help: 'Images analysed, by where their pixel size came from (uncalibrated included).',
      labelNames: ['source'] as const,
      registers,
    }),
    tilesPerImage: new Histogram({
      name: 'scopehive_tiles_per_image',
      help: 'Tiles analysed per image (1 when the image was not tiled).',
      labelNames: ['model'] as const,
      buckets: [1, 2, 4, 9, 16, 25, 36, 64, 100, 144, 256],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'scopehive_queue_depth',
      help: 'Jobs waiting or in flight in the job queue.',
      registers,
      async collect() {
        if (!options.queueDepth) return;
        try {
          this.set(await options.queueDepth());
        } catch {
          // The queue is unreachable (NATS down): no value rather than a failed scrape or a false 0.
          this.reset();
        }
      },
    }),
  };
}

export type PipelineMetrics = ReturnType<typeof createPipelineMetrics>;
