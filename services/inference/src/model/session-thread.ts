import { Worker } from 'node:worker_threads';
import type { ProviderSpec } from './providers.ts';

/** What the session thread reports once the model is open. */
interface Opened {
  type: 'open';
  provider: string;
  openMs: number;
  failures: Array<{ provider: string; message: string }>;
  inputNames: string[];
  outputNames: string[];
  inputShape: Array<number | string>;
  outputShapes: Array<Array<number | string>>;
}

type Reply =
  | Opened
  | { type: 'failed'; failures: Array<{ provider: string; message: string }> }
  | {
      type: 'result';
      id: number;
      buffer: ArrayBuffer;
      data: Float32Array;
      dims: number[];
      extra: OutputTensor[];
      ms: number;
    }
  | { type: 'error'; id: number; buffer: ArrayBuffer; message: string };

/** One output tensor of a run. */
export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

/** A run's output, the input handed back for reuse, and how long the session itself took (ms). */
export interface RunResult {
  data: Float32Array;
  dims: number[];
  /** The outputs after the first, in graph order (a segmentation model's mask prototypes). */
  extra?: OutputTensor[];
  input: Float32Array;
  ms: number;
}

interface Pending {
  resolve: (r: RunResult) => void;
  reject: (err: Error) => void;
  length: number;
}

const SCRIPT = new URL('./session-thread.mjs', import.meta.url);

/** A session thread started before its model was known (SessionThread.prestart), until one takes it. */
let spare: Worker | undefined;

/**
 * An ONNX Runtime session running in a worker thread (see session-thread.mjs for why). Inputs are
 * transferred, not copied: the Float32Array given to `run` is unusable until the promise resolves,
 * which hands it back as `input` for reuse.
 */
export class SessionThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #failed?: Error;

  private constructor(
    worker: Worker,
    readonly provider: string,
    readonly inputNames: string[],
    readonly outputNames: string[],
    readonly inputShape: Array<number | string>,
    /** Each output's dims as the graph declares them (dynamic axes as names or -1). */
    readonly outputShapes: Array<Array<number | string>>,
    /** Providers tried before the one used, and why they did not load. */
    readonly failures: Array<{ provider: string; message: string }>,
    /** How long the session took to open on its provider (with TensorRT: the engine build, if any). */
    readonly openMs: number,
  ) {
    this.#worker = worker;
    worker.on('message', (reply: Reply) => this.#onReply(reply));
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => this.#fail(new Error(`the session thread exited (code ${code})`)));
  }

  /**
   * Starts a thread for the next model opened: a new thread takes about 0.1 s to start and load ONNX
   * Runtime, which the CLI spends on its other core while its main thread loads everything else. It
   * does not keep the process alive; one that failed to start is dropped and open() starts its own.
   */
  static prestart(): void {
    if (spare) return;
    const worker = new Worker(SCRIPT, { workerData: null });
    worker.unref();
    // Seen by open() as an exit; unheard, an error event would end the process.
    worker.on('error', () => undefined);
    worker.once('exit', () => {
      if (spare === worker) spare = undefined;
    });
    spare = worker;
  }

  /**
   * Ends a prestarted thread no model took (a CLI run that stops before opening one), once it has
   * loaded ONNX Runtime: a process that exits while a thread is in the middle of that load can abort
   * (SIGABRT from the native module) instead of exiting with its own code.
   */
  static async dropSpare(): Promise<void> {
    const worker = spare;
    if (!worker) return;
    spare = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' });
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Opens the model on the first provider that loads; throws with every provider's reason otherwise. */
  static async open(
    model: Uint8Array,
    options: { providers: readonly ProviderSpec[]; threads: number },
  ): Promise<SessionThread> {
    const task = { model, providers: [...options.providers], threads: options.threads };
    const worker = spare ?? new Worker(SCRIPT, { workerData: task });
    if (worker === spare) {
      spare = undefined;
      worker.ref();
      worker.postMessage(task);
    }
    const first = await new Promise<Reply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (first.type !== 'open') {
      await worker.terminate();
      const reasons =
        first.type === 'failed'
          ? first.failures.map((f) => `${f.provider}: ${f.message}`).join('; ')
          : 'no reply';
      throw new Error(`no execution provider could load the model (${reasons})`);
    }
    return new SessionThread(
      worker,
      first.provider,
      first.inputNames,
      first.outputNames,
      first.inputShape,
      first.outputShapes,
      first.failures,
      first.openMs,
    );
  }

  /** Runs the model on `input` (its first `dims` product of floats). */
  run(input: Float32Array, dims: readonly number[]): Promise<RunResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    const length = dims.reduce((a, b) => a * b, 1);
    if (input.byteOffset !== 0 || length > input.length) {
      return Promise.reject(new RangeError(`input of ${input.length} floats cannot hold ${dims.join('×')}`));
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, length: input.length });
      const buffer = input.buffer as ArrayBuffer;
      this.#worker.postMessage({ type: 'run', id, buffer, length, dims: [...dims] }, [buffer]);
    });
  }

  async release(): Promise<void> {
    this.#worker.postMessage({ type: 'close' });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.#worker.terminate().then(() => resolve()), 5000);
      this.#worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #onReply(reply: Reply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    const input = new Float32Array(reply.buffer, 0, pending.length);
    if (reply.type === 'result')
      pending.resolve({ data: reply.data, dims: reply.dims, extra: reply.extra, input, ms: reply.ms });
    else {
      const err = new Error(reply.message) as Error & { input?: Float32Array };
      err.input = input;
      pending.reject(err);
    }
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
