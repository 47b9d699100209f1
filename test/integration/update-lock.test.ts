import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  dropImage,
  exists,
  type LogLine,
  makeDataDir,
  readJson,
  removeDataDir,
  resultFiles,
  waitFor,
} from './helpers/pipeline.ts';

/**
 * balena's update lock with two real processes: a worker process (the real worker loop, queue,
 * model and share; services/inference/test/pipeline/update-lock-child.ts) holds a job in flight by
 * construction (its read waits on a FIFO this test writes to), and this process watches the lock
 * file as the balena supervisor would: there exactly while the job is in flight, gone once it is
 * settled, and a lock left by a killed worker cleared when the service starts again. The real
 * pipeline (startTestPipeline) gets the lock once the lead wires it into compose.ts; until then the
 * child composes the same parts itself.
 */

const repoRoot = path.resolve(import.meta.dirname, '../..');
const childScript = path.join(repoRoot, 'services/inference/test/pipeline/update-lock-child.ts');

interface Worker {
  proc: ChildProcess;
  logs: LogLine[];
  publish(image: string): void;
  waitLog(msg: string, image?: string): Promise<LogLine>;
}

let dataDir: string;
let lockFile: string;
let gate: string;
const started: ChildProcess[] = [];

beforeEach(async () => {
  dataDir = await makeDataDir();
  for (const dir of ['inbox', 'results', 'rejected']) await fs.mkdir(path.join(dataDir, dir));
  await fs.mkdir(path.join(dataDir, 'balena'));
  lockFile = path.join(dataDir, 'balena', 'updates.lock');
  gate = path.join(dataDir, 'gate');
  execFileSync('mkfifo', [gate]);
});

afterEach(async () => {
  for (const proc of started.splice(0))
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await removeDataDir(dataDir);
});

function startWorker(): Worker {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, dataDir, gate], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SCOPEHIVE_UPDATE_LOCK: lockFile,
      SCOPEHIVE_PROVIDERS: 'cpu',
      SCOPEHIVE_SESSIONS: '1',
      SCOPEHIVE_THREADS: '1',
      SCOPEHIVE_ANNOTATE: 'false',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  started.push(proc);
  const logs: LogLine[] = [];
  let rest = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
  });
  return {
    proc,
    logs,
    publish: (image) => proc.stdin?.write(`publish ${image}\n`),
    waitLog: (msg, image) =>
      waitFor(
        () => logs.find((l) => l.msg === msg && (image === undefined || l.image === image)),
        60_000,
        `the worker to log "${msg}"${image ? ` for ${image}` : ''}`,
      ),
  };
}

/** Lets the job waiting at the gate go on (opening the FIFO for writing waits for its reader). */
const openGate = () => fs.writeFile(gate, 'go');

describe('the update lock with two real processes', () => {
  it('exists exactly while a job is in flight, and is gone once it is settled', async () => {
    await dropImage(path.join(dataDir, 'inbox'), 'bus.jpg', 'a.jpg');
    await dropImage(path.join(dataDir, 'inbox'), 'bus.jpg', 'b.jpg');
    const worker = startWorker();
    await worker.waitLog('ready');
    expect(await exists(lockFile)).toBe(false);

    worker.publish('a.jpg');
    await worker.waitLog('at gate', 'a.jpg');
    // Held by the worker process, in its own words.
    const held = await fs.readFile(lockFile, 'utf8');
    expect(held).toContain('scopehive inference update lock');
    expect(held).toContain(`pid ${worker.proc.pid}`);

    await openGate();
    const settled = await worker.waitLog('settled', 'a.jpg');
    expect(settled.outcome).toBe('ok');
    expect(await exists(lockFile)).toBe(false);
    const doc = await readJson(resultFiles(path.join(dataDir, 'results'), 'a.jpg', 'yolov8n-uint8').json);
    expect(doc.detections).not.toHaveLength(0);

    // Taken again for the next job, released again.
    worker.publish('b.jpg');
    await worker.waitLog('at gate', 'b.jpg');
    expect(await exists(lockFile)).toBe(true);
    await openGate();
    await worker.waitLog('settled', 'b.jpg');
    expect(await exists(lockFile)).toBe(false);

    worker.proc.stdin?.end();
    await new Promise((resolve) => worker.proc.once('exit', resolve));
    expect(worker.proc.exitCode).toBe(0);
    expect(await exists(lockFile)).toBe(false);
  });

  it('a lock left by a killed worker is removed when the service starts again, with one line', async () => {
    await dropImage(path.join(dataDir, 'inbox'), 'bus.jpg', 'a.jpg');
    await dropImage(path.join(dataDir, 'inbox'), 'bus.jpg', 'b.jpg');
    const crashed = startWorker();
    await crashed.waitLog('ready');
    crashed.publish('a.jpg');
    await crashed.waitLog('at gate', 'a.jpg');
    crashed.proc.kill('SIGKILL');
    await new Promise((resolve) => crashed.proc.once('exit', resolve));
    // Nothing released it: as on a device after a crash, it would block every update until a reboot.
    expect(await exists(lockFile)).toBe(true);

    const worker = startWorker();
    await worker.waitLog('ready');
    expect(await exists(lockFile)).toBe(false);
    const cleared = worker.logs.filter((l) => l.msg.startsWith(`update lock ${lockFile}`));
    expect(cleared.map((l) => l.msg)).toEqual([
      `update lock ${lockFile} was left by an earlier run of this service (a crash): removed`,
    ]);

    worker.publish('b.jpg');
    await worker.waitLog('at gate', 'b.jpg');
    expect(await fs.readFile(lockFile, 'utf8')).toContain(`pid ${worker.proc.pid}`);
    await openGate();
    await worker.waitLog('settled', 'b.jpg');
    expect(await exists(lockFile)).toBe(false);
    worker.proc.stdin?.end();
    await new Promise((resolve) => worker.proc.once('exit', resolve));
  });
});
