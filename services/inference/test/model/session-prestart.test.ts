/**
 * A session thread started before its model (the CLI starts one while it loads, SessionThread.prestart)
 * is the one the next model opens on, gets the model by message and runs it like a thread started
 * with it; the model after that starts its own.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionThread } from '../../src/model/session-thread.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const model = readFileSync(path.join(sharedDir, 'models', 'yolo11n_int8.onnx'));

describe('SessionThread.prestart', () => {
  it('a model opens and runs after a prestart (on that thread), and the next one on its own', async () => {
    SessionThread.prestart();
    const first = await SessionThread.open(model, { providers: ['cpu'], threads: 1 });
    const second = await SessionThread.open(model, { providers: ['cpu'], threads: 1 });
    try {
      for (const session of [first, second]) {
        expect(session.provider).toBe('cpu');
        const [, , h, w] = session.inputShape.map(Number);
        const { dims, input } = await session.run(new Float32Array(3 * w * h), [1, 3, h, w]);
        expect(dims[0]).toBe(1);
        expect(input.length).toBe(3 * w * h);
      }
    } finally {
      await Promise.all([first.release(), second.release()]);
    }
  });

  it('a model no provider can load is refused on the prestarted thread too', async () => {
    SessionThread.prestart();
    await expect(
      SessionThread.open(new Uint8Array([1, 2, 3]), { providers: ['cpu'], threads: 1 }),
    ).rejects.toThrow(/no execution provider could load the model \(cpu: /);
  });
});
