import { existsSync } from 'node:fs';
import type { Logger } from '@scopehive/shared';
import { SessionThread } from './session-thread.ts';

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
 * Opens an ONNX Runtime session, in its own thread, on the first execution provider that loads
 * (TensorRT, then CUDA, then CPU by default). A provider that fails falls back to the next with a
 * warning.
 */
export async function openSession(
  model: Uint8Array,
  options: SessionOptions,
): Promise<{ session: SessionThread; provider: string }> {
  const skipped = options.providers
    .filter((p) => unavailable.has(p))
    .map((p) => `${p}: ${unavailable.get(p)}`);
  const providers = options.providers.filter((p) => !unavailable.has(p));
  if (providers.length === 0) {
    throw new Error(`no execution provider could load the model (${skipped.join('; ')})`);
  }
  let session: SessionThread;
  try {
    session = await SessionThread.open(model, { providers, threads: options.threads });
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
  return { session, provider: session.provider };
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
