import type { Job, Logger, ResultDocument } from '@scopehive/shared';
import { REJECT_REASONS } from '../image/rejection.ts';
import type { LoadedModel } from '../model/model.ts';
import type { Outcome, PipelineMetrics } from './metrics.ts';

/** What the pipeline tells the world about a job: one log line at info and the metrics. */
export class PipelineTelemetry {
  readonly #zeroed = new WeakSet<LoadedModel>();

  constructor(
    readonly logger: Logger,
    readonly metrics?: PipelineMetrics,
  ) {}

  /**
   * Every series a loaded model can produce starts at zero: Prometheus's increase() cannot count the
   * first event of a series that appears with it, so a dashboard would show 0 rejected files after
   * the first rejection. Feature sizes are left out: their series appear per class when first
   * measured (FeatureSizes in metrics.ts keeps the first sizes countable).
   */
  zero(models: readonly LoadedModel[]): void {
    const metrics = this.metrics;
    if (!metrics) return;
    for (const reason of REJECT_REASONS) metrics.rejectedTotal.inc({ reason }, 0);
    for (const model of models) {
      if (this.#zeroed.has(model)) continue;
      this.#zeroed.add(model);
      for (const outcome of ['ok', 'skipped', 'rejected'] as const) {
        metrics.imagesTotal.inc({ model: model.name, outcome }, 0);
      }
      const classes = model.classIds ? model.classIds.map((id) => model.names[id]) : model.names;
      for (const cls of classes) metrics.detectionsTotal.inc({ model: model.name, class: cls }, 0);
    }
  }

  outcome(job: Job, outcome: Outcome): void {
    this.metrics?.imagesTotal.inc({ model: job.model.name, outcome });
  }

  /** An analysed image: stage times (ms, writing included), counts, sizes and the frame rate; one log line. */
  analysed(job: Job, doc: ResultDocument, timings: Readonly<Record<string, number>>, attempt: number): void {
    const model = job.model.name;
    const metrics = this.metrics;
    if (metrics) {
      for (const [stage, ms] of Object.entries(timings)) {
        metrics.stageSeconds.observe({ model, stage }, ms / 1000);
      }
      for (const [cls, n] of Object.entries(doc.counts))
        metrics.detectionsTotal.inc({ model, class: cls }, n);
      metrics.fileToResultSeconds.observe({ model }, Math.max(0, Date.now() - job.seenAt) / 1000);
      metrics.frameRate.record(model);
      metrics.imagesByCalibrationTotal.inc({ source: doc.calibration.source });
      metrics.tilesPerImage.observe({ model }, doc.tiling.tiles);
      for (const d of doc.detections) {
        if (d.ecdNm !== undefined)
          metrics.featureSizeMeters.observe({ model, class: d.class }, d.ecdNm * 1e-9);
      }
    }
    const total = Object.values(timings).reduce((a, b) => a + b, 0);
    const summary = Object.entries(doc.counts)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    const n = doc.detections.length;
    this.logger.info(
      {
        image: job.image.path,
        model,
        provider: doc.model.provider,
        detections: n,
        counts: doc.counts,
        timingsMs: doc.timings,
        attempt,
      },
      `${job.image.path}: ${n} objects${summary ? ` (${summary})` : ''} by ${model} in ${total.toFixed(0)} ms`,
    );
  }
}
