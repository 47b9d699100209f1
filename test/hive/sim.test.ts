import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseArgs, parseNodes } from '../../scripts/hive-sim/fleet.ts';
import { runSimulation, type SimReport } from '../../scripts/hive-sim/run.ts';

/**
 * The hive simulation on a real three-server NATS cluster, small: correctness only (every image has
 * exactly one result, on its origin's share; nothing lost or written twice; shares add up), never
 * timing or utilisation, which depend on the machine.
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function expectShape(report: SimReport, images: number, nodes: string[]): void {
  expect(Object.keys(report)).toEqual(
    expect.arrayContaining(['nodes', 'utilisation', 'lost', 'duplicated', 'seconds', 'simulation']),
  );
  expect(report.simulation).toBe(true);
  expect(report.nodes.map((n) => n.node)).toEqual(nodes);
  for (const n of report.nodes) {
    expect(Object.keys(n)).toEqual(
      expect.arrayContaining(['node', 'msPerImage', 'images', 'share', 'expectedShare']),
    );
  }
  expect(report.lost).toBe(0);
  expect(report.duplicated).toBe(0);
  expect(report.nodes.reduce((s, n) => s + n.images, 0)).toBe(images);
  expect(report.nodes.reduce((s, n) => s + n.share, 0)).toBeCloseTo(1, 3);
  expect(report.nodes.reduce((s, n) => s + n.expectedShare, 0)).toBeCloseTo(1, 3);
  expect(typeof report.utilisation).toBe('number');
  expect(typeof report.seconds).toBe('number');
}

describe('hive simulation', () => {
  it('analyses every image once, on the origin’s share, across the fleet', async () => {
    const nodes = parseNodes('scope-a:30,scope-b:50,gpu-c:20,nx-d:80');
    const report = await runSimulation({ nodes, images: 48, faults: false });
    expectShape(report, 48, ['scope-a', 'scope-b', 'gpu-c', 'nx-d']);
    expect(report.faults).toBe(false);
  }, 60_000);

  it('loses and duplicates nothing when a worker is SIGKILLed and a NATS server killed part-way', async () => {
    const nodes = parseNodes('scope-a:30,scope-b:50,nx-c:80,gpu-d:40');
    const report = await runSimulation({ nodes, images: 60, faults: true });
    expectShape(report, 60, ['scope-a', 'scope-b', 'nx-c', 'gpu-d']);
    expect(report.faults).toMatchObject({ killedWorker: 'gpu-d' });
  }, 90_000);

  it('refuses a bad --nodes value with one line and exit code 1', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/hive-sim.ts', '--nodes', 'orin-1:fast'],
      {
        cwd: repo,
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      'hive:sim: --nodes: "orin-1:fast" is not name:ms (e.g. orin-1:100)',
    ]);
  }, 30_000);

  it('reads the default fleet and its microscopes', () => {
    const { nodes, images } = parseArgs([]);
    expect(images).toBe(1000);
    expect(nodes.filter((n) => n.microscope).map((n) => n.name)).toEqual(['orin-1', 'xavier-1', 'nx-1']);
    expect(nodes.find((n) => n.name === 'x86-1')).toMatchObject({ msPerImage: 60, microscope: false });
    expect(() => parseArgs(['--images', '0'])).toThrow(/--images/);
    expect(() => parseArgs(['--nodes', 'a:1,a:2'])).toThrow(/named twice/);
  });
});
