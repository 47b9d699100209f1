/**
 * The worker process of the two-process update-lock test (test/integration/update-lock.test.ts): the
 * real worker loop, embedded queue, model and share on `<dataDir>`, its queue wrapped with balena's
 * update lock as the inference service composes it. Each job's read first waits on the FIFO `<gate>`,
 * so the test holds a job in flight by construction and lets it go by writing to the FIFO.
 *
 * Usage: tsx update-lock-child.ts <dataDir> <gate>, with SCOPEHIVE_UPDATE_LOCK set. Reads `publish
 * <inbox-relative image>` lines on stdin; logs pino JSON on stdout: `ready` once the stale lock is
 * cleared and the worker runs, `at gate` when a job's read waits, `settled` when a job is settled.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { createLogger, EmbeddedQueue, type Job, loadConfig, makeJob, sha256 } from '@scopehive/shared';
import { createAnalysisWorker } from '../../src/compose-analysis.ts';
import { loadModelFile, modelSettings } from '../../src/model/from-settings.ts';
import type { ModelSet } from '../../src/model/model.ts';
import { LocalShare } from '../../src/pipeline/local-share.ts';
import type { ImageSource } from '../../src/pipeline/stages.ts';
import { resolveUpdateLockPath, UpdateLock, withUpdateLock } from '../../src/pipeline/update-lock.ts';

const [dataDir, gate] = process.argv.slice(2);
const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const logger = createLogger('inference', 'debug');
const { config } = loadConfig(['analysis', 'queue', 'runtime'], process.env);
const folders = {
  inbox: path.join(dataDir, 'inbox'),
  results: path.join(dataDir, 'results'),
  rejected: path.join(dataDir, 'rejected'),
};

const lock = new UpdateLock({
  path: resolveUpdateLockPath(process.env.SCOPEHIVE_UPDATE_LOCK, process.env),
  logger,
});
const share = new LocalShare({
  inboxDir: folders.inbox,
  resultsDir: folders.results,
  rejectedDir: folders.rejected,
  logger,
});

/** The share, each read held until the test writes to the gate. */
const gated: ImageSource = {
  async read(job: Job) {
    logger.info({ image: job.image.path }, 'at gate');
    await fs.readFile(gate);
    return share.read(job);
  },
  folderSettings: (job) => share.folderSettings(job),
};

const model = await loadModelFile(
  path.join(sharedDir, 'models', 'yolov8n-uint8.onnx'),
  modelSettings(config.analysis, config.runtime),
  logger,
);
const events = new EventEmitter();
const models: ModelSet = {
  list: () => [model],
  get: (name) => (name === model.name ? model : undefined),
  on: (event, listener) => events.on(event, listener),
  off: (event, listener) => events.off(event, listener),
};

const queue = new EmbeddedQueue({ capacity: 16, ackWaitMs: 600_000, maxDeliver: 3, logger });
const worker = createAnalysisWorker({
  config,
  node: 'lock-test',
  queue: withUpdateLock(queue, lock),
  models,
  source: gated,
  sink: share,
  logger,
  waitOutEnvironment: true,
  folders,
  onSettled: (delivery, outcome) => logger.info({ image: delivery.job.image.path, outcome }, 'settled'),
});
worker.start();
logger.info('ready');

for await (const line of readline.createInterface({ input: process.stdin })) {
  const [command, image] = line.split(' ');
  if (command !== 'publish' || !image) continue;
  const bytes = await fs.readFile(path.join(folders.inbox, image));
  await queue.publish(
    makeJob({
      origin: 'lock-test',
      image: { path: image, bytes: bytes.length, sha256: sha256(bytes) },
      model: { name: model.name, sha256: model.sha256 },
    }),
  );
}
// stdin closed: stop as the service does, the worker first, then the lock.
await worker.close();
lock.close();
await queue.close();
await share.close();
await model.dispose();
