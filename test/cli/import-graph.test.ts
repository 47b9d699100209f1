/**
 * What the compiled code loads (issue 13: `npx scopehive analyze` on one photo under 1.0 s). The
 * root entry of @scopehive/shared loads neither express nor the NATS client (the hive has its own
 * entry, @scopehive/shared/hive), and the CLI analysing a photo loads none of express, NATS,
 * chokidar or the YAML parser: together they were about 0.25 s of its start-up.
 *
 * Watched for real: a child node process runs with a module resolve hook (module.register, the
 * documented loader API) that appends every URL it resolves to a file. CommonJS `require`s inside a
 * package are not seen in Node 20, but the import of each package's entry is, which is what counts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const shared = process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(repo, '../shared');
const run = promisify(execFile);

/** Packages a process that neither serves HTTP nor talks to NATS has no use for. */
const UNWANTED = /\/node_modules\/(express|@nats-io\/[^/]+|chokidar|yaml)\//;

let work: string;
let register: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-imports-'));
  const hook = path.join(work, 'hook.mjs');
  await fs.writeFile(
    hook,
    [
      "import { appendFileSync } from 'node:fs';",
      'let out;',
      'export function initialize(data) { out = data.out; }',
      'export async function resolve(specifier, context, next) {',
      '  const resolved = await next(specifier, context);',
      "  appendFileSync(out, resolved.url + '\\n');",
      '  return resolved;',
      '}',
    ].join('\n'),
  );
  register = path.join(work, 'register.mjs');
  await fs.writeFile(
    register,
    [
      "import { register } from 'node:module';",
      `register(${JSON.stringify(pathToFileURL(hook).href)}, { data: { out: process.env.RESOLVED_LOG } });`,
    ].join('\n'),
  );
  // What npm ci's prepare does; compiles only what changed since (nothing, usually).
  await run(process.execPath, ['scripts/build.mjs'], { cwd: repo });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Runs node on the compiled code with the hook; the URLs it resolved and its output. */
async function traced(name: string, args: string[]): Promise<{ urls: string[]; stdout: string }> {
  const log = path.join(work, `${name}.log`);
  const { stdout } = await run(
    process.execPath,
    ['--conditions=scopehive-dist', '--import', pathToFileURL(register).href, ...args],
    { cwd: repo, env: { ...process.env, RESOLVED_LOG: log, SCOPEHIVE_LOG_LEVEL: 'error' } },
  );
  const urls = (await fs.readFile(log, 'utf8')).split('\n').filter(Boolean);
  return { urls, stdout };
}

/** `<program> analyze bus.jpg --model <model> --out <out> --quiet`. */
const analyzing = (program: string, model: string, out: string) => [
  path.join(repo, program),
  'analyze',
  path.join(shared, 'images/bus.jpg'),
  '--model',
  path.join(shared, 'models', `${model}.onnx`),
  '--out',
  out,
  '--quiet',
];

const importing = (specifier: string) => [
  '--input-type=module',
  '-e',
  `await import(${JSON.stringify(specifier)});`,
];

describe('what the compiled code loads', () => {
  it('@scopehive/shared loads neither express nor the NATS client', async () => {
    const { urls } = await traced('root', importing('@scopehive/shared'));
    expect(urls).toContainEqual(expect.stringMatching(/\/shared\/dist\/index\.js$/));
    expect(urls.filter((u) => UNWANTED.test(u))).toEqual([]);
  });

  it('@scopehive/shared/hive loads the NATS client (so the hook sees package imports)', async () => {
    const { urls } = await traced('hive', importing('@scopehive/shared/hive'));
    expect(urls).toContainEqual(expect.stringMatching(/\/shared\/dist\/hive\/index\.js$/));
    expect(urls).toContainEqual(expect.stringMatching(/\/node_modules\/@nats-io\/jetstream\//));
  });

  it('the CLI analyses a photo without express, NATS, chokidar or the YAML parser', async () => {
    const out = path.join(work, 'results');
    const { urls, stdout } = await traced(
      'cli',
      analyzing('services/inference/dist/cli/main.js', 'yolov8n-fp32', out),
    );
    expect(stdout).toMatch(/\| yolov8n-fp32 \| 1 +\| 0 +\| 0 +\| 5 /);
    const doc = JSON.parse(await fs.readFile(path.join(out, 'bus.jpg.yolov8n-fp32.json'), 'utf8'));
    expect(doc.counts).toEqual({ person: 4, bus: 1 });
    expect(urls).toContainEqual(expect.stringMatching(/\/node_modules\/onnxruntime-node\//));
    expect(urls.filter((u) => UNWANTED.test(u))).toEqual([]);
  });

  it('the CLI command reads the model thread’s code before the rest of the CLI', async () => {
    // A module runs only once its whole import graph is read: the bin imports cli/prestart first so
    // that ONNX Runtime starts loading on its thread while main.js's graph is still being read.
    const out = path.join(work, 'results-bin');
    const { urls } = await traced(
      'bin',
      analyzing('services/inference/bin/scopehive.js', 'yolo11n_int8', out),
    );
    const first = (pattern: RegExp) => urls.findIndex((u) => pattern.test(u));
    const thread = first(/\/inference\/dist\/model\/session-thread\.js$/);
    const main = first(/\/inference\/dist\/cli\/main\.js$/);
    expect(thread).toBeGreaterThanOrEqual(0);
    expect(main).toBeGreaterThan(thread);
    await fs.access(path.join(out, 'bus.jpg.yolo11n_int8.json'));
  });
});
