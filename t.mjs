import * as ort from 'onnxruntime-node';

const m = '/work/shared/models/yolov8n-fp32.onnx';
const t = new ort.Tensor('float32', new Float32Array(3 * 640 * 640).fill(0.5), [1, 3, 640, 640]);
for (const [name, opts] of [
  ['default', {}],
  ['nospin', { extra: { session: { intra_op: { allow_spinning: '0' } } } }],
  ['1thread', { intraOpNumThreads: 1 }],
  ['default', {}],
  ['nospin', { extra: { session: { intra_op: { allow_spinning: '0' } } } }],
]) {
  const s = await ort.InferenceSession.create(m, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...opts,
  });
  for (let i = 0; i < 3; i++) await s.run({ images: t });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await s.run({ images: t });
  const ms = (performance.now() - t0) / 20;
  const cpu = process.cpuUsage(c0);
  console.log(name, ms.toFixed(1), 'ms; cpu ms/img', ((cpu.user + cpu.system) / 1000 / 20).toFixed(1));
  await s.release();
}
