import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelL4t } from '../../scripts/device-check/gpu-memory.ts';
import { repoRoot } from '../static/helpers.ts';

const sharedDir = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
let data: string;

function deviceCheck(args: string[]) {
  return spawnSync('bash', [path.join(repoRoot, 'scripts/device-check.sh'), ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      SCOPEHIVE_DATA_DIR: data,
      SCOPEHIVE_PROVIDERS: 'auto',
      SCOPEHIVE_LOG_LEVEL: 'error',
    },
    timeout: 240_000,
  });
}

describe('scripts/device-check.sh', () => {
  beforeAll(() => {
    data = mkdtempSync(path.join(os.tmpdir(), 'scopehive-device-check-'));
    mkdirSync(path.join(data, 'models'));
    copyFileSync(
      path.join(sharedDir, 'models', 'yolov8n-fp32.onnx'),
      path.join(data, 'models', 'yolov8n-fp32.onnx'),
    );
  });
  afterAll(() => rmSync(data, { recursive: true, force: true }));

  it('prints one row per model with the provider that loaded and positive images per second', () => {
    const r = deviceCheck(['--runs', '5']);
    expect(r.status, r.stderr).toBe(0);
    const table = r.stdout.split('\n').filter((l) => l.startsWith('|'));
    const rows = table.map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
    expect(rows[0]).toEqual([
      'model',
      'provider',
      'open s',
      'engine',
      'runs',
      'bare img/s',
      'pipeline img/s',
    ]);
    expect(rows[1].every((c) => /^-+$/.test(c))).toBe(true);
    expect(rows).toHaveLength(3);
    const [model, provider, open, engine, runs, bare, pipeline] = rows[2];
    expect(model).toBe('yolov8n-fp32');
    // No GPU here: the CPU provider is the one that loads, and the check says so.
    expect(provider).toBe('cpu');
    expect(engine).toBe('-');
    expect(runs).toBe('5');
    expect(Number(open)).toBeGreaterThanOrEqual(0);
    expect(Number(bare)).toBeGreaterThan(0);
    expect(Number(pipeline)).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^GPU memory \((nvidia-smi|tegrastats|none)\):$/m);
  });

  it('refuses a bad run count in one line', () => {
    const r = deviceCheck(['--runs', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('device-check: --runs must be a whole number of at least 1 (got "0")');
  });
});

describe('kernelL4t', () => {
  it('reads the L4T release from a Jetson kernel release string', () => {
    expect(kernelL4t('5.15.148-l4t-r36.4.3')).toBe('r36.4');
    expect(kernelL4t('5.10.120-l4t-r35.4.1')).toBe('r35.4');
    expect(kernelL4t('6.1.0-18-amd64')).toBeUndefined();
  });
});
