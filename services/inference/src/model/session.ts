import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import type { Logger } from '@scopehive/shared';
import { engineCacheDir, type GpuStack, providerSpec } from './providers.ts';
import { SessionThread } from './session-thread.ts';

export type ProviderName = 'tensorrt' | 'cuda' | 'cpu';

export interface SessionOptions {
  /** Providers to try, in order; the first whose session loads is used. */
  providers: readonly string[];
  /** Intra-op threads; 0 lets ONNX Runtime use one per core. */
  threads: number;
  logger?: Logger;
  /** Model name for log lines. */
  label?: string;
  /** GPU sessions: which GPU, and where TensorRT keeps its engines. */
  gpu?: GpuSessionOptions;
}

export interface GpuSessionOptions {
  /** CUDA device of this session (default 0). */
  deviceId?: number;
  /** Root of the TensorRT engine caches on the data volume; no cache without it. */
  cacheRoot?: string;
  /** Device type, JetPack and TensorRT of the image: part of the cache key. */
  stack?: GpuStack;
}

/** An opened session, its provider, and how long opening took. */
export interface OpenedSession {
  session: SessionThread;
  provider: string;
  openMs: number;
  /** True when TensorRT built an engine during this open (none was cached for this key). */
  engineBuilt: boolean;
}

/**
 * The image's GPU facts (device type, JetPack, TensorRT) and the engine cache root are the same for
 * every session of the process: set once at start-up, used where a session's options say nothing.
 */
let gpuDefaults: GpuSessionOptions = {};

/** Sets the engine cache root and GPU stack used by every later `openSession` (compose calls it). */
export function configureGpuSessions(defaults: GpuSessionOptions): void {
  gpuDefaults = { ...defaults };
}

/** Providers that failed once in this process are not tried again for every model. */
const unavailable = new Map<string, string>();

/**
 * Opens an ONNX Runtime session, in its own thread, on the first execution provider that loads
 * (TensorRT, then CUDA, then CPU by default). A provider that fails falls back to the next with a
 * warning.
 */
export async function openSession(model: Uint8Array, options: SessionOptions): Promise<OpenedSession> {
  const skipped = options.providers
    .filter((p) => unavailable.has(p))
    .map((p) => `${p}: ${unavailable.get(p)}`);
  const providers = options.providers.filter((p) => !unavailable.has(p));
  if (providers.length === 0) {
    throw new Error(`no execution provider could load the model (${skipped.join('; ')})`);
  }
  const gpu = { ...gpuDefaults, ...options.gpu };
  const deviceId = gpu.deviceId ?? 0;
  const trtCacheDir = providers.includes('tensorrt') ? prepareCacheDir(model, gpu, deviceId) : undefined;
  const enginesBefore = trtCacheDir ? countEngines(trtCacheDir) : 0;
  let session: SessionThread;
  try {
    session = await SessionThread.open(model, {
      providers: providers.map((p) => providerSpec(p, { deviceId, trtCacheDir })),
      threads: options.threads,
    });
  } catch (err) {
    throw new Error(
      `${firstLine(err)}${skipped.length > 0 ? ` (not tried again: ${skipped.join('; ')})` : ''}`,
    );
  }
  for (const { provider, message } of session.failures) {
    // A provider that is not built in fails for every model: remember it. A model that fails on it is
    // reported by the next provider's failure, if any.
    if (
      provider !== 'cpu' &&
      /not (supported|available|found|enabled)|shared library|backend/i.test(message)
    ) {
      unavailable.set(provider, message);
    }
    options.logger?.warn(
      { provider, err: message },
      `execution provider ${provider} did not load; trying the next`,
    );
  }
  // The first load of a model on a device builds its TensorRT engine (minutes on a Jetson): say so,
  // with the time, so a slow first start is not taken for a hang; later loads read the cache.
  const engineBuilt =
    session.provider === 'tensorrt' && (!trtCacheDir || countEngines(trtCacheDir) > enginesBefore);
  if (session.provider === 'tensorrt') {
    const seconds = Math.round(session.openMs / 100) / 10;
    options.logger?.info(
      {
        model: options.label,
        provider: 'tensorrt',
        deviceId,
        seconds,
        cache: trtCacheDir ?? null,
        engineBuilt,
      },
      engineBuilt
        ? `TensorRT engine${options.label ? ` of ${options.label}` : ''} built in ${seconds} s${trtCacheDir ? '; cached for the next start' : ' (no engine cache configured)'}`
        : `TensorRT engine${options.label ? ` of ${options.label}` : ''} loaded from the cache in ${seconds} s`,
    );
  }
  return { session, provider: session.provider, openMs: session.openMs, engineBuilt };
}

/** The model's engine cache folder, made if missing; undefined when no cache root is set. */
function prepareCacheDir(model: Uint8Array, gpu: GpuSessionOptions, deviceId: number) {
  if (!gpu.cacheRoot) return undefined;
  const sha = createHash('sha256').update(model).digest('hex');
  const dir = engineCacheDir(gpu.cacheRoot, gpu.stack ?? { deviceType: 'unknown' }, sha, deviceId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function countEngines(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.engine')).length;
  } catch {
    return 0;
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** `auto` means the GPU providers first when an NVIDIA device node exists (desktop GPU or Jetson), else CPU only. */
export function resolveProviders(configured: readonly string[], hasNvidiaDevice: boolean): string[] {
  if (configured.length === 1 && configured[0] === 'auto') {
    return hasNvidiaDevice ? ['tensorrt', 'cuda', 'cpu'] : ['cpu'];
  }
  return [...configured];
}

export function nvidiaDevicePresent(): boolean {
  return ['/dev/nvidia0', '/dev/nvhost-gpu', '/dev/nvhost-ctrl-gpu'].some((p) => existsSync(p));
}
