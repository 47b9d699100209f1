/**
 * `npm run bench -- --case latency` end to end on two photos per mode: the real `npm start` pipeline,
 * the real model, the real `npx scopehive analyze`. Only the report's shape and that every time is a
 * positive number are checked: timings on a shared machine are measured, never asserted.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { percentile } from '../../scripts/bench/latency.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** The runner's own SCOPEHIVE_ settings stay out, except where the sample images are. */
function benchEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('SCOPEHIVE_') || k === 'SCOPEHIVE_SHARED_DIR'),
  );
  return {
    ...env,
    // Short windows keep the test quick; one single-threaded session, as two test files share two cores.
    SCOPEHIVE_STABLE_MS: '300',
    SCOPEHIVE_POLL_INTERVAL_MS: '200',
    SCOPEHIVE_SESSIONS: '1',
    SCOPEHIVE_THREADS: '1',
  };
}

const positive = expect.any(Number);

describe('bench --case latency', () => {
  it('percentile is the nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 0.95)).toBe(5);
    expect(percentile([7], 0.5)).toBe(7);
  });

  it('drops photos into npm start with inotify and with polling, times the CLI, and reports JSON', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/bench.ts',
        '--case',
        'latency',
        '--images',
        '2',
        '--cli-runs',
        '1',
        '--json',
      ],
      { cwd: repo, env: benchEnv(), maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout);
    const mode = {
      images: 2,
      p50Ms: positive,
      p95Ms: positive,
      analysisP50Ms: positive,
      analysisP95Ms: positive,
      ratio: positive,
    };
    expect(report).toEqual({
      case: 'latency',
      model: 'yolov8n-fp32.onnx',
      cpus: positive,
      loadAverage: expect.any(Number),
      drop: 'write',
      stableMs: 300,
      pollIntervalMs: 200,
      local: mode,
      polled: mode,
      localRatio: positive,
      polledRatio: positive,
      cli: { photo: 'bus.jpg', wallMs: [positive], p50Ms: positive },
      aims: { localRatio: 1.5, localP50Ms: positive, polledP50Ms: positive, cliWallMs: 1000 },
    });
    const times = [
      ...['p50Ms', 'p95Ms', 'analysisP50Ms', 'analysisP95Ms', 'ratio'].flatMap((k) => [
        report.local[k],
        report.polled[k],
      ]),
      report.localRatio,
      report.polledRatio,
      report.cli.p50Ms,
      ...report.cli.wallMs,
    ];
    for (const t of times) expect(t).toBeGreaterThan(0);
    expect(report.localRatio).toBe(report.local.ratio);
    expect(report.polledRatio).toBe(report.polled.ratio);
  }, 240_000);
});
