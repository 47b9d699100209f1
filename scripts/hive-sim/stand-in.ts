/**
 * The one part of the simulation that is not the product: the model run. A LoadedModel whose
 * session waits the node's time per image and answers a valid YOLOv8 output (one class, one
 * candidate: one particle in the middle). Everything around it (preparing, decoding, the result
 * document and the sink) is the real pipeline's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256 } from '@scopehive/shared';
import { LoadedModel, type ModelSet } from '../../services/inference/src/model/model.ts';
import type { RunResult, SessionThread } from '../../services/inference/src/model/session-thread.ts';

/** Every node's stand-in has this name and hash: a job names its model by both. */
export const STAND_IN_MODEL = 'hive-sim-stand-in';
export const STAND_IN_SHA256 = sha256(Buffer.from('scopehive hive simulation stand-in model v1'));
/** Reported as the model's provider in every result document: says the run was simulated. */
export const STAND_IN_PROVIDER = 'simulation';
/** Small, so that letterboxing a generated image costs next to nothing. */
const INPUT = 64;

/**
 * One session: runs one at a time, each taking `msPerImage` (a GPU session does not run two images
 * at once; a second run waits its turn, as in ONNX Runtime's session thread).
 */
class SimulatedSession {
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly msPerImage: number,
    private readonly busy: SessionBusy,
  ) {}

  run(input: Float32Array, dims: readonly number[]): Promise<RunResult> {
    const batch = dims[0] ?? 1;
    const done = this.#turn.then(async () => {
      const start = performance.now();
      await sleep(this.msPerImage * batch);
      this.busy.ms += performance.now() - start;
      this.busy.runs += 1;
    });
    this.#turn = done;
    return done.then(() => ({
      data: output(batch),
      dims: [batch, 5, 1],
      input,
      ms: this.msPerImage * batch,
    }));
  }

  release(): Promise<void> {
    return this.#turn.then(() => undefined);
  }
}

/** [batch, 4+1, 1] channel-major: a 16-pixel box at the input's centre, scored 0.9. */
function output(batch: number): Float32Array {
  const data = new Float32Array(batch * 5);
  for (let b = 0; b < batch; b++) data.set([INPUT / 2, INPUT / 2, 16, 16, 0.9], b * 5);
  return data;
}

/**
 * Where a node's time went: how long its session was running (timers on a busy machine run late, so
 * this can exceed runs × ms per image) — the rest of the run it waited for work.
 */
export interface SessionBusy {
  runs: number;
  ms: number;
}

/** The stand-in model of a node whose one session takes `msPerImage` per image. */
export function standInModel(msPerImage: number, busy: SessionBusy = { runs: 0, ms: 0 }): LoadedModel {
  // LoadedModel only calls run() and release() on its sessions; a real SessionThread would start
  // ONNX Runtime in a thread, which is what the stand-in replaces.
  const session = new SimulatedSession(msPerImage, busy) as unknown as SessionThread;
  return new LoadedModel({
    sessions: [session],
    name: STAND_IN_MODEL,
    file: '(hive simulation: no model file)',
    sha256: STAND_IN_SHA256,
    provider: STAND_IN_PROVIDER,
    inputWidth: INPUT,
    inputHeight: INPUT,
    output: { layout: 'yolov8', numClasses: 1, numCandidates: 1 },
    names: ['particle'],
    thresholds: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
    maxBatch: 1,
  });
}

/** A fixed set of one model: it never changes, so the worker's consumer never restarts. */
export function fixedModelSet(model: LoadedModel): ModelSet {
  return {
    list: () => [model],
    get: (name) => (name === model.name ? model : undefined),
    on: () => undefined,
    off: () => undefined,
  };
}
