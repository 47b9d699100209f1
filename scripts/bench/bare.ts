import type { LoadedModel, SessionThread } from '@scopehive/inference';

/**
 * Bare ONNX Runtime: `session.run` one input after another on one session with ONNX Runtime's
 * default threads, inputs prepared beforehand: the reference the pipeline is measured against.
 */
export async function bare(session: SessionThread, tensors: Float32Array[], dims: number[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < tensors.length; i++) tensors[i] = (await session.run(tensors[i], dims)).input;
  return (performance.now() - t0) / 1000;
}

/** The best the runtime alone does here: the pipeline's own sessions, all busy at once. */
export async function bareParallel(model: LoadedModel, tensors: Float32Array[]): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: model.replicas }, async () => {
      while (next < tensors.length) {
        const i = next++;
        tensors[i] = (await model.run(tensors[i])).input;
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}
