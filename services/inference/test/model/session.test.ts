import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@scopehive/shared';
import { describe, expect, it } from 'vitest';
import { nvidiaDevicePresent, openSession, resolveProviders } from '../../src/model/session.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const model = readFileSync(path.join(sharedDir, 'models', 'yolo11n_int8.onnx'));

/** A logger that keeps its warnings. */
function recordingLogger() {
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
  } as unknown as Logger;
  return { logger, warnings };
}

describe('resolveProviders', () => {
  it('auto: TensorRT, CUDA, then CPU when an NVIDIA device exists', () => {
    expect(resolveProviders(['auto'], true)).toEqual(['tensorrt', 'cuda', 'cpu']);
  });

  it('auto: CPU only without an NVIDIA device', () => {
    expect(resolveProviders(['auto'], false)).toEqual(['cpu']);
  });

  it('keeps an explicit list as given, in its order', () => {
    const configured = ['cuda', 'cpu'];
    const resolved = resolveProviders(configured, false);
    expect(resolved).toEqual(['cuda', 'cpu']);
    expect(resolved).not.toBe(configured);
    expect(resolveProviders(['cpu'], true)).toEqual(['cpu']);
    expect(resolveProviders(['auto', 'cpu'], true)).toEqual(['auto', 'cpu']);
  });
});

// The npm onnxruntime-node build on this machine has no CUDA or TensorRT provider and there is no
// GPU: these tests exercise the fallback, not a GPU session.
describe.skipIf(nvidiaDevicePresent())('openSession on a CPU-only machine', () => {
  it('falls back to CPU when CUDA is asked first (the GPU provider is absent here; the fallback is what is tested)', async () => {
    const { logger, warnings } = recordingLogger();
    const { session, provider } = await openSession(model, {
      providers: ['cuda', 'cpu'],
      threads: 1,
      logger,
    });
    expect(provider).toBe('cpu');
    expect(session.inputNames).toEqual(['images']);
    expect(session.outputNames).toEqual(['output0']);
    expect(session.outputShapes).toEqual([[1, 84, 2100]]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toBe('execution provider cuda did not load; trying the next');
    expect(warnings[0].fields.provider).toBe('cuda');
    expect(String(warnings[0].fields.err)).not.toContain('\n');

    // The CPU session runs the model (in its thread): YOLO11 at 320 gives 84 rows (4 box + 80 classes)
    // × 2100 anchors, and the input comes back whole for reuse.
    const input = new Float32Array(3 * 320 * 320).fill(0.5);
    const output = await session.run(input, [1, 3, 320, 320]);
    expect(output.dims).toEqual([1, 84, 2100]);
    expect(output.data).toHaveLength(84 * 2100);
    expect(input.length).toBe(0); // transferred to the session thread…
    expect(output.input).toHaveLength(3 * 320 * 320); // …and handed back
    expect(output.input[0]).toBe(0.5);
    await session.release();
  });

  it('does not try a provider again once it failed to load (no second warning)', async () => {
    const { logger, warnings } = recordingLogger();
    const { session, provider } = await openSession(model, {
      providers: ['cuda', 'cpu'],
      threads: 0,
      logger,
    });
    expect(provider).toBe('cpu');
    expect(warnings).toEqual([]);
    await session.release();
  });

  it('says why every provider failed when none loads', async () => {
    const error = await openSession(model, { providers: ['tensorrt'], threads: 1 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^no execution provider could load the model \(tensorrt: .+\)$/);
  });

  it('reports a model that cannot load without ruling out the CPU for other models', async () => {
    const garbage = new TextEncoder().encode('not an onnx model');
    await expect(openSession(garbage, { providers: ['cpu'], threads: 1 })).rejects.toThrow(
      /^no execution provider could load the model \(cpu: .+\)$/,
    );
    const { session, provider } = await openSession(model, { providers: ['cpu'], threads: 1 });
    expect(provider).toBe('cpu');
    await session.release();
  });

  it('reports how long the session took to open, and no engine built off TensorRT', async () => {
    const { session, provider, openMs, engineBuilt } = await openSession(model, {
      providers: ['cpu'],
      threads: 1,
    });
    expect(provider).toBe('cpu');
    expect(openMs).toBeGreaterThan(0);
    expect(session.openMs).toBe(openMs);
    expect(engineBuilt).toBe(false);
    await session.release();
  });
});
