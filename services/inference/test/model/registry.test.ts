/**
 * The live models folder with real models and real files: sidecars with typos, links planted in
 * the folder, and the folder itself renamed away and made again.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistry, type ModelRegistryMetrics } from '../../src/model/registry.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const FIRST = 'yolo11n_int8';
const SECOND = 'yolov10n_int8';

let dir: string;
let registry: ModelRegistry | undefined;
let logs: Array<{ level: number; msg: string; [key: string]: unknown }>;
let counted: Record<string, number>;

beforeEach(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-models-')));
  logs = [];
  counted = {};
});
afterEach(async () => {
  await registry?.close();
  registry = undefined;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(`${dir}-old`, { recursive: true, force: true });
});

const count = (what: string) => () => {
  counted[what] = (counted[what] ?? 0) + 1;
};

/** Counters by shape, as the registry's metrics hook takes them, counting per metric and label. */
const metrics: ModelRegistryMetrics = {
  modelInfo: { set: () => undefined, remove: () => undefined },
  modelLoadFailuresTotal: { inc: ({ model }) => count(`failures ${model}`)() },
  linksRefusedTotal: { inc: ({ folder }) => count(`links ${folder}`)() },
};

async function start(): Promise<ModelRegistry> {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  registry = new ModelRegistry({
    modelsDir: dir,
    enabled: ['all'],
    providers: ['cpu'],
    threads: 1,
    sessions: 1,
    defaults: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
    stableMs: 100,
    usePolling: false,
    pollIntervalMs: 100,
    logger: pino({ level: 'debug' }, sink),
    metrics,
  });
  await registry.start();
  return registry;
}

const copyModel = (name: string, into = dir) =>
  fs.copyFile(path.join(sharedDir, 'models', `${name}.onnx`), path.join(into, `${name}.onnx`));

/** Polls until `done()` holds; fails after `ms`. */
async function until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('a sidecar with a typo', () => {
  it('leaves the running model on its last good configuration, and says which file and line', async () => {
    await copyModel(FIRST);
    const yaml = path.join(dir, `${FIRST}.yaml`);
    await fs.writeFile(yaml, 'confidence: 0.5\n');
    const models = await start();
    const good = models.get(FIRST);
    expect(good?.thresholds.confidence).toBe(0.5);

    await fs.writeFile(yaml, 'confidence: 0.3\niou: [0.5\nclasses: [person]\n');
    await until(() => counted[`failures ${FIRST}`] === 1, 'the broken sidecar to be counted');
    await models.settled();
    expect(models.get(FIRST)).toBe(good);
    expect(models.list()).toEqual([good]);
    expect(models.failures().size).toBe(0);
    const problem = `sidecar ${yaml} is not valid YAML: line 3, column 1: `;
    expect(models.problems()).toHaveLength(1);
    expect(models.problems()[0].startsWith(problem)).toBe(true);
    expect(models.problems()[0].endsWith(`: model ${FIRST} keeps its last good configuration`)).toBe(true);
    const logged = logs.filter((l) => l.level === 50 && l.model === FIRST);
    expect(logged.map((l) => [l.msg, l.file, l.line])).toEqual([[models.problems()[0], yaml, 3]]);

    // Fixed: the new configuration runs, and nothing is reported any more.
    await fs.writeFile(yaml, 'confidence: 0.3\n');
    await until(() => models.get(FIRST)?.thresholds.confidence === 0.3, 'the fixed sidecar to be used');
    expect(models.problems()).toEqual([]);
  });

  it('names the line of a bad value', async () => {
    await copyModel(FIRST);
    const models = await start();
    const good = models.get(FIRST);
    const json = path.join(dir, `${FIRST}.json`);
    await fs.writeFile(json, '{\n  "iou": 0.5,\n  "confidence": "high"\n}\n');
    await until(() => models.problems().length === 1, 'the bad value to be reported');
    expect(models.problems()).toEqual([
      `${json}: "confidence" must be a number from 0 to 1 (line 3): model ${FIRST} keeps its last good configuration`,
    ]);
    expect(models.get(FIRST)).toBe(good);
  });

  it('keeps a model never loaded before out, and says why', async () => {
    await copyModel(FIRST);
    const models = await start();
    const json = path.join(dir, `${SECOND}.json`);
    await fs.writeFile(json, '{"confidence": 0.3,,}');
    await copyModel(SECOND);
    // Counted once or twice: the sidecar and the model file each make the registry look again.
    await until(() => counted[`failures ${SECOND}`] >= 1, `the sidecar of ${SECOND} to be counted`);
    await models.settled();
    expect(models.list().map((m) => m.name)).toEqual([FIRST]);
    expect(models.failures().get(SECOND)).toMatch(`sidecar ${json} is not valid JSON: line 1, column 20: `);
    expect(models.problems()).toEqual([`${models.failures().get(SECOND)}: model ${SECOND} not loaded`]);
  });
});

describe('links in the models folder', () => {
  it('loads no model through a link, and takes no sidecar that is a link', async () => {
    const elsewhere = `${dir}-old`;
    await fs.mkdir(elsewhere);
    await copyModel(SECOND, elsewhere);
    await fs.symlink(path.join(elsewhere, `${SECOND}.onnx`), path.join(dir, `${SECOND}.onnx`));
    await fs.writeFile(path.join(elsewhere, 'settings.yaml'), 'confidence: 0.9\n');
    await copyModel(FIRST);
    await fs.symlink(path.join(elsewhere, 'settings.yaml'), path.join(dir, `${FIRST}.yaml`));
    const models = await start();
    expect(models.list()).toEqual([]);
    expect(models.problems()).toEqual([
      `sidecar ${path.join(dir, `${FIRST}.yaml`)} is a symbolic link: not taken: model ${FIRST} not loaded`,
    ]);
    expect(counted['links models']).toBe(2);
    const lines = logs.filter((l) => l.msg.startsWith('symbolic link not taken'));
    expect(lines.map((l) => l.link).sort()).toEqual([`${FIRST}.yaml`, `${SECOND}.onnx`]);
  });
});

describe('the models folder renamed away and made again', () => {
  it('unloads its models, says the folder is missing, and loads the models of the new one', async () => {
    await copyModel(FIRST);
    const models = await start();
    expect(models.list().map((m) => m.name)).toEqual([FIRST]);

    await fs.rename(dir, `${dir}-old`);
    await until(() => models.list().length === 0, 'the models to be unloaded');
    await until(() => models.problems().length === 1, 'the folder to be missing');
    expect(models.problems()).toEqual([`the models folder ${dir} is missing`]);

    await fs.mkdir(dir);
    await copyModel(SECOND);
    await until(() => models.get(SECOND) !== undefined, `${SECOND} to be loaded`);
    expect(models.list().map((m) => m.name)).toEqual([SECOND]);
    expect(models.problems()).toEqual([]);
  });
});
