import type { ModelRef } from '@scopehive/shared';
import type { OutputShapeInfo } from '../core/layout.ts';
import type { CalibrationOverride } from '../microscopy/calibration.ts';
import type { RunResult, SessionThread } from './session-thread.ts';
import type { ModelSidecar, ModelTiling } from './sidecar.ts';

/** Detection thresholds: the service's defaults, or a sidecar's. */
export interface ModelThresholds {
  confidence: number;
  iou: number;
  maxDetections: number;
}

/** Everything a loaded model is made of; `loadModel` works it out from the file and its sidecar. */
export interface LoadedModelOptions extends ModelRef {
  /** One or more sessions of the model, each in its own thread; runs go to the least busy. */
  sessions: SessionThread[];
  file: string;
  provider: string;
  inputWidth: number;
  inputHeight: number;
  output: OutputShapeInfo;
  /** Class names by id, one per class the output scores. */
  names: readonly string[];
  thresholds: ModelThresholds;
  /** Class ids to report; all when undefined. */
  classIds?: readonly number[];
  /** Images per run: tiles are batched when the input's batch axis is dynamic. */
  maxBatch: number;
  /** The validated sidecar, when the model has one; a reload compares it to tell a changed sidecar. */
  sidecar?: ModelSidecar;
}

/** A model ready to run: its sessions, input geometry, output layout and thresholds. */
export class LoadedModel implements ModelRef {
  readonly name: string;
  readonly file: string;
  readonly sha256: string;
  readonly provider: string;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly output: OutputShapeInfo;
  readonly names: readonly string[];
  readonly thresholds: ModelThresholds;
  readonly classIds: readonly number[] | undefined;
  readonly maxBatch: number;
  readonly sidecar: ModelSidecar | undefined;
  /** Pixel size or data-bar crop from the sidecar. */
  readonly calibrationOverride: CalibrationOverride | undefined;
  /** Tiling settings from the sidecar; empty when it sets none. */
  readonly tiling: ModelTiling;
  readonly #sessions: SessionThread[];
  readonly #busy: number[];
  #running = 0;
  #idle: Array<() => void> = [];

  constructor(options: LoadedModelOptions) {
    this.name = options.name;
    this.file = options.file;
    this.sha256 = options.sha256;
    this.provider = options.provider;
    this.inputWidth = options.inputWidth;
    this.inputHeight = options.inputHeight;
    this.output = options.output;
    this.names = options.names;
    this.thresholds = options.thresholds;
    this.classIds = options.classIds;
    this.maxBatch = options.maxBatch;
    this.sidecar = options.sidecar;
    this.calibrationOverride = options.sidecar?.calibration;
    this.tiling = options.sidecar?.tiling ?? {};
    this.#sessions = options.sessions;
    this.#busy = options.sessions.map(() => 0);
  }

  /** Runs that can execute at once: one per session. */
  get replicas(): number {
    return this.#sessions.length;
  }

  /**
   * Runs the model on `batch` packed images (NCHW float32). The input array is handed to the session
   * thread and comes back as `input` once the run is over (reuse that one, not the original).
   */
  async run(input: Float32Array, batch = 1): Promise<RunResult> {
    let k = 0;
    for (let i = 1; i < this.#busy.length; i++) if (this.#busy[i] < this.#busy[k]) k = i;
    this.#busy[k]++;
    this.#running++;
    try {
      return await this.#sessions[k].run(input, [batch, 3, this.inputHeight, this.inputWidth]);
    } finally {
      this.#busy[k]--;
      this.#running--;
      if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Releases the sessions once every run started on them has finished. */
  async dispose(): Promise<void> {
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await Promise.all(this.#sessions.map((s) => s.release()));
  }
}

/** The models a worker runs: the live registry for the service, a fixed set for the CLI. */
export interface ModelSet {
  list(): LoadedModel[];
  get(name: string): LoadedModel | undefined;
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}
