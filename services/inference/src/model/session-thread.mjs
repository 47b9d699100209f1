// The ONNX Runtime session of one model, in its own worker thread. onnxruntime-node runs inference
// on the calling JavaScript thread, so a session on the main thread would stop decoding, letterboxing
// and result writing for the whole run; here the main thread stays free and the two overlap.
// Plain JavaScript: worker threads load it without the TypeScript loader. Protocol: session-thread.ts.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// A thread started ahead of its model (SessionThread.prestart) gets it in its first message, or
// `close` when no model came (the CLI exiting early): it then ends once ONNX Runtime has loaded, as
// a process exiting in the middle of that load can abort.
const task = workerData ?? (await new Promise((resolve) => parentPort.once('message', resolve)));
if (task.type === 'close') {
  parentPort.close();
} else {
  await serve(task);
}

async function serve({ model, providers, threads }) {
  let session;
  const failures = [];

  const firstLine = (err) => String(err?.message ?? err).split('\n')[0];

  // A provider is a name or an object with `name` and its options (model/providers.ts builds them).
  for (const spec of providers) {
    const provider = typeof spec === 'string' ? spec : spec.name;
    try {
      const started = performance.now();
      session = await ort.InferenceSession.create(model, {
        executionProviders: [spec],
        graphOptimizationLevel: 'all',
        // Spinning ORT threads wait for work by burning CPU that decoding and writing need on a small device.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
        ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
      });
      // With TensorRT this includes building the engine when none was cached.
      const openMs = performance.now() - started;
      const shape = (meta) => (meta && 'shape' in meta ? meta.shape : []);
      parentPort.postMessage({
        type: 'open',
        provider,
        openMs,
        failures,
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        inputShape: shape(session.inputMetadata?.[0]),
        outputShapes: session.outputNames.map((_, i) => shape(session.outputMetadata?.[i])),
      });
      break;
    } catch (err) {
      failures.push({ provider, message: firstLine(err) });
    }
  }
  if (!session) parentPort.postMessage({ type: 'failed', failures });

  parentPort.on('message', async (message) => {
    if (message.type === 'close') {
      await session?.release();
      parentPort.close();
      return;
    }
    const { id, buffer, length, dims } = message;
    try {
      const input = new ort.Tensor('float32', new Float32Array(buffer, 0, length), dims);
      const started = performance.now();
      const outputs = await session.run({ [session.inputNames[0]]: input });
      const ms = performance.now() - started;
      const out = outputs[session.outputNames[0]];
      const data = out.data;
      // Outputs after the first (a segmentation model's mask prototypes) travel with it.
      const extra = session.outputNames.slice(1).map((name) => ({
        data: outputs[name].data,
        dims: outputs[name].dims.map(Number),
      }));
      parentPort.postMessage({ type: 'result', id, buffer, data, dims: out.dims.map(Number), extra, ms }, [
        buffer,
        data.buffer,
        ...extra.map((e) => e.data.buffer),
      ]);
    } catch (err) {
      parentPort.postMessage({ type: 'error', id, buffer, message: firstLine(err) }, [buffer]);
    }
  });
}
