/**
 * What each execution provider is asked for, as ONNX Runtime's own option names. Pure: no files,
 * no environment reads (see `gpuStackFromEnv` for the one place the environment is read).
 *
 * TensorRT: FP16 on, engine cache and timing cache on, both in a folder keyed by device type,
 * JetPack, TensorRT version, GPU and model hash, because a serialized engine only runs on the GPU
 * and TensorRT release it was built for. The `trt_*` keys are passed as strings to ONNX Runtime's
 * UpdateTensorRTProviderOptions by the Node binding the GPU images build
 * (services/inference/docker/ort-node-ep-options.mjs); the npm build of onnxruntime-node reads only
 * `name` and `deviceId` and ignores the rest (onnxruntime issue #26854).
 */
import path from 'node:path';

/** A provider as ONNX Runtime's Node binding takes it: a name, or an object with `name`. */
export type ProviderSpec = string | ({ name: string; deviceId?: number } & Record<string, string | number>);

/** The GPU software the image was built with, and the device it runs on. */
export interface GpuStack {
  /** balena device type (`jetson-agx-orin-devkit`), or `x86-64` off balena. */
  deviceType: string;
  /** JetPack release of the image (`6.2`), absent on x86-64. */
  jetpack?: string;
  /** TensorRT release of the image (`10.3`), absent when unknown (the npm build on x86-64). */
  tensorrt?: string;
}

export interface ProviderPlan {
  /** CUDA device of the session (one session per GPU on a multi-GPU worker). */
  deviceId: number;
  /** Folder of this model's TensorRT engine and timing caches; no cache when absent. */
  trtCacheDir?: string;
}

/** The session option entry for `provider`, with the TensorRT and CUDA options this project uses. */
export function providerSpec(provider: string, plan: ProviderPlan): ProviderSpec {
  if (provider === 'tensorrt') {
    const spec: ProviderSpec = { name: 'tensorrt', deviceId: plan.deviceId, trt_fp16_enable: '1' };
    if (plan.trtCacheDir) {
      spec.trt_engine_cache_enable = '1';
      spec.trt_engine_cache_path = plan.trtCacheDir;
      spec.trt_timing_cache_enable = '1';
      spec.trt_timing_cache_path = plan.trtCacheDir;
    }
    return spec;
  }
  if (provider === 'cuda') return { name: 'cuda', deviceId: plan.deviceId };
  return provider;
}

/** The provider name of a spec. */
export function providerName(spec: ProviderSpec): string {
  return typeof spec === 'string' ? spec : spec.name;
}

/** One path segment from free text: lower case, [a-z0-9.-] only, never empty. */
function segment(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '');
  return s === '' ? 'unknown' : s;
}

/**
 * The engine cache key: device type, JetPack, TensorRT, GPU index and the model's hash. Engines
 * built for one of them do not load (or load wrongly) on another, so each gets its own folder.
 */
export function engineCacheKey(stack: GpuStack, modelSha256: string, deviceId: number): string {
  if (!/^[0-9a-f]{16,}$/i.test(modelSha256)) throw new Error(`not a model hash: ${modelSha256}`);
  if (!Number.isInteger(deviceId) || deviceId < 0) throw new Error(`not a GPU index: ${deviceId}`);
  return [
    segment(stack.deviceType),
    `jp${segment(stack.jetpack ?? 'none')}`,
    `trt${segment(stack.tensorrt ?? 'unknown')}`,
    `gpu${deviceId}`,
    modelSha256.slice(0, 16).toLowerCase(),
  ].join('_');
}

/** The cache folder of one model's engines under `cacheRoot` (on the data volume). */
export function engineCacheDir(
  cacheRoot: string,
  stack: GpuStack,
  modelSha256: string,
  deviceId: number,
): string {
  return path.join(cacheRoot, engineCacheKey(stack, modelSha256, deviceId));
}

/**
 * The image's GPU stack from its environment: BALENA_DEVICE_TYPE (set by balena in every
 * container) or SCOPEHIVE_DEVICE_TYPE, and SCOPEHIVE_JETPACK / SCOPEHIVE_TENSORRT (set by the
 * inference image, services/inference/Dockerfile.template).
 */
export function gpuStackFromEnv(env: Record<string, string | undefined>): GpuStack {
  return {
    deviceType: env.BALENA_DEVICE_TYPE || env.SCOPEHIVE_DEVICE_TYPE || 'x86-64',
    jetpack: env.SCOPEHIVE_JETPACK || undefined,
    tensorrt: env.SCOPEHIVE_TENSORRT || undefined,
  };
}

/**
 * GPU indices from a list such as `0,1,3` (SCOPEHIVE_GPU_DEVICES): one session per GPU. Empty:
 * GPU 0 only. A bad entry is refused with the whole value named.
 */
export function parseGpuDevices(value: string | undefined): number[] {
  if (value === undefined || value.trim() === '') return [0];
  const ids = value.split(',').map((part) => part.trim());
  if (ids.some((id) => !/^\d{1,2}$/.test(id))) {
    throw new Error(`SCOPEHIVE_GPU_DEVICES must list GPU indices such as 0,1 (got "${value}")`);
  }
  return [...new Set(ids.map(Number))];
}

/**
 * Where TensorRT engines are kept: on the data volume, so they survive container updates and
 * restarts (an engine takes minutes to build on a Jetson). Hidden from the lab's view of the share.
 */
export function engineCacheRoot(dataDir: string): string {
  return path.join(dataDir, '.cache', 'tensorrt');
}
