// Over 300 lines on purpose: the loop, the capacity rule and the retry policy read best in one place;
// each stage it orders lives in its own module.
/**
 * The worker loop: take a job, prepare it (source → plan → letterbox), infer, hand the result to the
 * sink, acknowledge. Preparing the next images overlaps inference of the current one (sharp and ONNX
 * Runtime both work off the main thread), and writing overlaps the next inference. Every stage lives
 * in its own module; this file only orders them and applies the retry policy.
 */
import {
  BoundedChannel,
  type JobDelivery,
  type JobQueue,
  type Readiness,
  type ResultDocument,
} from '@scopehive/shared';
import type { EdgeFeatures } from '../core/quantify.ts';
import { ImageRejection } from '../image/rejection.ts';
import type { ModelSet } from '../model/model.ts';
import { classifyFailure } from './failure.ts';
import { HeldJobs } from './hold.ts';
import { detectInTiles, detectSingle, type Inference } from './infer.ts';
import { finish, type Prepared, type PrepareOptions, Preparer } from './prepare.ts';
import type { ImageSource, ResultSink } from './stages.ts';
import type { PipelineTelemetry } from './telemetry.ts';

export type JobOutcome = 'ok' | 'skipped' | 'rejected';

export interface WorkerOptions extends PrepareOptions {
  queue: JobQueue;
  models: ModelSet;
  source: ImageSource;
  sink: ResultSink;
  telemetry: PipelineTelemetry;
  /** The node doing the analysis, named in every result. */
  node: string;
  /** Edge-touching features in the size statistics (a folder's `scopehive.json` decides over it). */
  edgeFeatures?: EdgeFeatures;
  annotate: boolean;
  /** Called after each job settles, whatever the outcome (the CLI counts progress with it). */
  onSettled?: (delivery: JobDelivery, outcome: JobOutcome, detail?: ResultDocument | ImageRejection) => void;
  /** Images prepared ahead of the one being inferred (default: sessions + 1). */
  prefetch?: number;
  /**
   * How often a job in hand tells the queue it is still being worked on (a third of the queue's ack
   * wait): a 4k micrograph in 64 tiles on a small CPU can take longer than the ack wait.
   */
  heartbeatMs?: number;
  /**
   * A service waits out a full or read-only disk: the jobs in hand are held and retried in place,
   * no new job is taken, and no image is rejected for it. A one-shot front door (the CLI) leaves it
   * off: there the attempts are spent and the image reported as failed, as for a bug.
   */
  waitOutEnvironment?: boolean;
  /** The data folders by name (`results`, …), to say which one is in trouble. */
  folders?: Readonly<Record<string, string>>;
  /**
   * Hold at most one job per session and one being fetched and prepared, from taking to settling
   * (otherwise up to the prefetch and the writes behind it). In the hive a worker takes only what it
   * can run: a job it holds is a job a faster node could not take, so shares follow capacity without
   * any central scheduler, and the one extra job keeps the sessions from waiting on the network.
   */
  holdOnlyCapacity?: boolean;
  /**
   * A job for a model not loaded here goes back to the queue for a node that has it (the hive),
   * instead of being dropped (one device, where the model was removed).
   */
  handBackUnknownModels?: boolean;
}

const MAX_PENDING_WRITES = 4;
/** How long a bug waits before the job is tried again. */
const RETRY_DELAY_MS = 2000;

export class InferenceWorker {
  readonly #opts: WorkerOptions;
  readonly #prepare: Preparer;
  readonly #writes = new Set<Promise<void>>();
  readonly #heartbeats = new Map<JobDelivery, NodeJS.Timeout>();
  /** Ends the waits of held jobs on close. */
  readonly #stopping = new AbortController();
  readonly #held: HeldJobs;
  /** Jobs taken and not yet settled (acknowledged, handed back or terminated). */
  readonly #inHand = new Set<JobDelivery>();
  #slotFreed: Array<() => void> = [];
  /** The most jobs held at once under `holdOnlyCapacity`, for the models loaded now. */
  #maxInHand = 0;
  #abort = new AbortController();
  #closed = false;
  #running?: Promise<void>;

  constructor(options: WorkerOptions) {
    this.#opts = options;
    this.#prepare = new Preparer({ ...options, logger: options.telemetry.logger });
    this.#held = new HeldJobs({
      logger: options.telemetry.logger,
      folders: options.folders,
      signal: this.#stopping.signal,
    });
  }

  start(): void {
    const { models, telemetry } = this.#opts;
    telemetry.zero(models.list());
    const restart = () => {
      telemetry.zero(models.list());
      this.#abort.abort();
    };
    models.on('change', restart);
    this.#running = (async () => {
      while (!this.#closed) {
        this.#abort = new AbortController();
        await this.#consume(this.#abort.signal);
      }
      models.off('change', restart);
    })();
  }

  /** Not ready while jobs are held, with what is wrong: "results folder full (ENOSPC): waiting, 3 jobs held". */
  readiness(): Readiness {
    return this.#held.readiness();
  }

  /** Jobs taken and not yet settled, for the hive's node registry. */
  jobsInHand(): number {
    return this.#inHand.size;
  }

  /** Stops taking jobs and finishes the ones in hand; held jobs go back to the queue. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopping.abort();
    this.#abort.abort();
    await this.#running;
    await Promise.all(this.#writes);
  }

  /** One consumer for the models loaded now; a model change aborts it and a new one starts. */
  async #consume(signal: AbortSignal): Promise<void> {
    const loaded = this.#opts.models.list();
    if (loaded.length === 0) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    const sessions = Math.max(1, ...loaded.map((m) => m.replicas));
    this.#maxInHand = this.#opts.holdOnlyCapacity ? sessions + 1 : 0;
    const channel = new BoundedChannel<Promise<Prepared | undefined>>(this.#opts.prefetch ?? sessions + 1);
    const infer = (async () => {
      // Every session gets an image and one more run waits queued behind them, so a session never
      // waits for this thread to collect a result.
      const inFlight = new Set<Promise<void>>();
      for await (const next of channel) {
        const prepared = await next;
        if (!prepared) continue;
        const run = this.#inferAndWrite(prepared).finally(() => inFlight.delete(run));
        inFlight.add(run);
        while (inFlight.size >= sessions + 1) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })();
    try {
      for await (const taken of this.#opts.queue.consume({ models: loaded.map((m) => m.name), signal })) {
        await channel.push(this.#prepareOne(this.#track(taken)));
        // Taking more jobs while the device is in trouble would only hold more of them.
        await this.#held.whileBlocked(signal);
        await this.#whileFull(signal);
      }
    } finally {
      channel.close();
      await infer;
    }
  }

  /** The delivery, counted in hand until it is settled one way or another. */
  #track(delivery: JobDelivery): JobDelivery {
    this.#inHand.add(delivery);
    const release = () => {
      if (!this.#inHand.delete(delivery)) return;
      const waiting = this.#slotFreed;
      this.#slotFreed = [];
      for (const wake of waiting) wake();
    };
    return {
      job: delivery.job,
      attempt: delivery.attempt,
      maxDeliver: delivery.maxDeliver,
      ack: () => delivery.ack().finally(release),
      nak: (delayMs) => delivery.nak(delayMs).finally(release),
      term: (reason) => delivery.term(reason).finally(release),
      working: () => delivery.working(),
    };
  }

  /** Waits while the most jobs allowed are held, so the next pull happens only when one can run. */
  async #whileFull(signal: AbortSignal): Promise<void> {
    const max = this.#maxInHand;
    if (!max) return;
    while (this.#inHand.size >= max && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        signal.addEventListener('abort', done, { once: true });
        this.#slotFreed.push(done);
      });
    }
  }

  async #prepareOne(delivery: JobDelivery): Promise<Prepared | undefined> {
    const { job } = delivery;
    const model = this.#opts.models.get(job.model.name);
    if (!model && this.#opts.handBackUnknownModels) {
      await delivery.nak(RETRY_DELAY_MS);
      this.#opts.telemetry.logger.info(
        { image: job.image.path, model: job.model.name },
        `job for ${job.image.path} handed back: model ${job.model.name} is not loaded here`,
      );
      return undefined;
    }
    if (!model) {
      await delivery.term(`model ${job.model.name} is not loaded`);
      this.#opts.telemetry.logger.warn(
        { image: job.image.path, model: job.model.name },
        `job for ${job.image.path} dropped: model ${job.model.name} is not loaded`,
      );
      return undefined;
    }
    this.#startHeartbeat(delivery);
    try {
      const prepared = await this.#holdThrough(delivery, 'inbox folder', () =>
        this.#prepare.prepare(delivery, model),
      );
      if (prepared === 'done') {
        await this.#settle(delivery, 'skipped');
        return undefined;
      }
      return prepared;
    } catch (err) {
      await this.#fail(delivery, err);
      return undefined;
    }
  }

  async #inferAndWrite(p: Prepared): Promise<void> {
    let inference: Inference;
    try {
      if (p.plan.views.kind === 'tiles') {
        inference = await detectInTiles(p.model, p.image, p.plan.area, p.plan.views.tiles, {
          wholePass: p.plan.tiling.wholeImagePass,
        });
      } else {
        const single = await detectSingle(p.model, p.input!, p.plan.views.geometry, (b) =>
          this.#prepare.recycle(b),
        );
        inference = { detections: single.detections, times: { preprocess: 0, ...single.times } };
      }
    } catch (err) {
      await this.#fail(p.delivery, err);
      return;
    }
    while (this.#writes.size >= MAX_PENDING_WRITES) await Promise.race(this.#writes);
    const write = this.#write(p, inference).finally(() => this.#writes.delete(write));
    this.#writes.add(write);
  }

  async #write(p: Prepared, inference: Inference): Promise<void> {
    const { delivery } = p;
    try {
      const { node, annotate, edgeFeatures } = this.#opts;
      const result = await finish(p, inference, { node, annotate, edgeFeatures });
      let writeMs = 0;
      await this.#holdThrough(delivery, 'results folder', async () => {
        const t = performance.now();
        await this.#opts.sink.write(result, delivery.job);
        writeMs = performance.now() - t;
      });
      const timings = { ...result.doc.timings, write: result.doc.timings.write + writeMs };
      this.#opts.telemetry.analysed(delivery.job, result.doc, timings, delivery.attempt);
      await this.#settle(delivery, 'ok', result.doc);
    } catch (err) {
      await this.#fail(delivery, err);
    }
  }

  /** A stage that a fault of the environment holds rather than fails, when the worker waits those out. */
  #holdThrough<T>(delivery: JobDelivery, where: string, stage: () => Promise<T>): Promise<T> {
    if (!this.#opts.waitOutEnvironment) return stage();
    return this.#held.through(delivery, delivery.job, where, stage);
  }

  /**
   * The retry policy. A bad image is rejected at once (trying again would not help); a bug is tried
   * again after a delay, and rejected with its last error once the queue's attempts are spent. A fault
   * of the environment is never the image's: when the worker does not wait those out (the CLI) it is
   * treated like a bug; otherwise it reaches here when the worker closes while the job is held, or
   * from inference, which is not retried in place (its input may have gone to the session's thread):
   * either way the job goes back to the queue.
   */
  async #fail(delivery: JobDelivery, err: unknown): Promise<void> {
    const { job, attempt, maxDeliver } = delivery;
    const { logger } = this.#opts.telemetry;
    const failure = classifyFailure(err);
    const where = { image: job.image.path, model: job.model.name, attempt };
    if (failure.kind === 'environment' && this.#opts.waitOutEnvironment) {
      this.#stopHeartbeat(delivery);
      logger.info({ ...where, err: failure.message }, `${job.image.path}: handed back to the queue`);
      await delivery.nak(this.#closed ? 0 : RETRY_DELAY_MS);
      return;
    }
    if (failure.kind === 'bug')
      logger.error({ ...where, stack: failure.stack }, `${job.image.path}: ${failure.message}`);
    if (failure.kind !== 'image' && attempt < maxDeliver) {
      this.#stopHeartbeat(delivery);
      logger.warn(
        { ...where, err: failure.message },
        `${job.image.path}: attempt ${attempt} failed, retrying: ${failure.message}`,
      );
      await delivery.nak(RETRY_DELAY_MS);
      return;
    }
    const rejection =
      failure.kind === 'image'
        ? failure.rejection
        : new ImageRejection('failed', `failed ${attempt} times; last error: ${failure.message}`);
    try {
      // Setting the file aside can meet a full or read-only rejected folder: held like a write.
      await this.#holdThrough(delivery, 'rejected folder', () => this.#opts.sink.reject(job, rejection));
    } catch (writeErr) {
      // Closing while the rejected folder is in trouble: set it aside next time.
      if (this.#opts.waitOutEnvironment && classifyFailure(writeErr).kind === 'environment') {
        this.#stopHeartbeat(delivery);
        await delivery.nak();
        return;
      }
      logger.error(
        { image: job.image.path, err: String(writeErr) },
        `${job.image.path}: could not record the rejection`,
      );
    }
    this.#stopHeartbeat(delivery);
    logger.warn({ ...where, reason: rejection.reason }, `${job.image.path} rejected: ${rejection.message}`);
    await delivery.term(rejection.message);
    this.#opts.telemetry.outcome(job, 'rejected');
    this.#opts.onSettled?.(delivery, 'rejected', rejection);
  }

  async #settle(delivery: JobDelivery, outcome: 'ok' | 'skipped', doc?: ResultDocument): Promise<void> {
    this.#stopHeartbeat(delivery);
    await delivery.ack();
    this.#opts.telemetry.outcome(delivery.job, outcome);
    this.#opts.onSettled?.(delivery, outcome, doc);
  }

  #startHeartbeat(delivery: JobDelivery): void {
    const every = this.#opts.heartbeatMs;
    if (!every) return;
    const timer = setInterval(() => void delivery.working().catch(() => undefined), every);
    timer.unref();
    this.#heartbeats.set(delivery, timer);
  }

  #stopHeartbeat(delivery: JobDelivery): void {
    clearInterval(this.#heartbeats.get(delivery));
    this.#heartbeats.delete(delivery);
  }
}
