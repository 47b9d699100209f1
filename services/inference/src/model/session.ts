import { existsSync } from 'node:fs';
import type { Logger } from '@scopehive/shared';
import * as ort from 'onnxruntime-node';

export type ProviderName = 'tensorrt' | 'cuda' | 'cpu';

export interface SessionOptions {
  /** Providers to try, in order; the first whose session loads is used. */
  providers: readonly string[];
  /** Intra-op threads; 0 lets ONNX Runtime use one per core. */
  threads: number;
  logger?: Logger;
}

/** Providers that failed once in this process are not tried again for every model. */
const unavailable = new Map<string, string>();

/**
 * Opens an ONNX Runtime session on the first execution provider that loads (TensorRT, then CUDA,
 * then CPU by default). A provider that fails falls back to the next with a warning.
 */
export async function openSession(
  model: Uint8Array,
  options: SessionOptions,
): Promise<{ session: ort.InferenceSession; provider: string }> {
  const errors: string[] = [];
  for (const provider of options.providers) {
    const known = unavailable.get(provider);
    if (known) {
      errors.push(`${provider}: ${known}`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // Spinning threads wait for work by burning CPU, which the decode and write stages of the
        // pipeline need on a small device; without it throughput is the same and the cores are shared.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
        ...(options.threads > 0 ? { intraOpNumThreads: options.threads } : {}),
      });
      return { session, provider };
    } catch (err) {
      const message = firstLine(err);
      // A provider that is not built in fails for every model; a model that cannot load fails everywhere.
      if (provider !== 'cpu' && /not (supported|available|found|enabled)|backend|provider/i.test(message)) {
        unavailable.set(provider, message);
      }
      errors.push(`${provider}: ${message}`);
      options.logger?.warn(
        { provider, err: message },
        `execution provider ${provider} did not load; trying the next`,
      );
    }
  }
  throw new Error(`no execution provider could load the model (${errors.join('; ')})`);
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
