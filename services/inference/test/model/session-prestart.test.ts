/**
 * A session thread started before its model (the CLI starts one while it loads, SessionThread.prestart)
 * is the one the next model opens on, gets the model by message and runs it like a thread started
 * with it; the model after that starts its own.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
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

  it('dropSpare ends a thread no model took, and the process exits with its own code, every time', async () => {
    // What the CLI does on a usage error: prestart, then exit. The CLI exiting while its thread was
    // still loading ONNX Runtime aborted (SIGABRT, seen once in 40 runs of a bad --model); dropSpare
    // lets the load finish first. 20 processes, each dropping it at a different point of that load.
    const script = [
      `import { SessionThread } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../src/model/session-thread.ts'))};`,
      'SessionThread.prestart();',
      'await new Promise((r) => setTimeout(r, Number(process.argv[1])));',
      'await SessionThread.dropSpare();',
      'process.exit(7);',
    ].join('\n');
    const run = promisify(execFile);
    const codes: Array<number | string> = [];
    for (let i = 0; i < 20; i++) {
      const code = await run(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, String(i * 10)],
        { cwd: path.resolve(import.meta.dirname, '../..') },
      ).then(
        () => 0,
        (e: { code?: number; signal?: string }) => e.code ?? e.signal ?? 'none',
      );
      codes.push(code);
    }
    expect(codes).toEqual(codes.map(() => 7));
  }, 120_000);
});
