/**
 * The device stack end to end on loopback (issue 4): a real `nats-server -js`, ingest, two inference
 * processes and the exporter as separate processes started as their containers start them, and a
 * real `prometheus` with the repository's scrape configuration. What can run here runs for real;
 * only the exporter's GPU tool and thermal zone are fixtures (no GPU on this machine).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exists } from '../integration/helpers/pipeline.ts';
import { dashboardQueries, exporterImages, instantQuery, queriesWithoutData } from './helpers/dashboards.ts';
import { readResults, resultJson, resultProblems } from './helpers/results.ts';
import {
  get,
  model,
  promtool,
  repoRoot,
  type Service,
  Stack,
  sharedDir,
  testAlert,
  waitReady,
  waitUntil,
} from './helpers/stack.ts';

const dashboardsDir = path.join(repoRoot, 'grafana', 'dashboards');
const bus = await fs.readFile(path.join(sharedDir, 'images', 'bus.jpg'));
const zidane = await fs.readFile(path.join(sharedDir, 'images', 'zidane.jpg'));
const semTiff = await fs.readFile(path.join(sharedDir, 'microscopy', 'sem-tiff', 'fei-sem-rbc.tif'));

let stack: Stack;
let quality = 96;

/**
 * `count` photos that are new images to the pipeline: the two sample photos re-encoded at a quality
 * not used before, so every one has its own bytes (and its own job).
 */
async function newPhotos(folder: string, count: number): Promise<Map<string, Buffer>> {
  const photos = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const q = quality--;
    const [source, name] = i % 2 === 0 ? [bus, 'bus'] : [zidane, 'zidane'];
    photos.set(`${folder}/${name}-q${q}.jpg`, await sharp(source).jpeg({ quality: q }).toBuffer());
  }
  return photos;
}

async function dropAll(images: Map<string, Buffer>): Promise<void> {
  await Promise.all([...images].map(([name, bytes]) => stack.drop(name, bytes)));
}

/** Waits until every image has its result JSON; the documents. */
function resultsOf(images: readonly string[]): Promise<ResultDocument[]> {
  return waitUntil(
    async (note) => {
      const missing = [];
      for (const image of images) {
        if (!(await exists(resultJson(stack.resultsDir, image, model)))) missing.push(image);
      }
      note(`no result yet for ${missing.join(', ')}`);
      return missing.length === 0 ? readResults(stack.resultsDir, images, model) : undefined;
    },
    90_000,
    `results of ${images.length} images`,
  );
}

/** The first result written for any of `images`. */
function firstResultOf(images: readonly string[]): Promise<ResultDocument> {
  return waitUntil(
    async () => {
      for (const image of images) {
        const file = resultJson(stack.resultsDir, image, model);
        if (await exists(file)) return JSON.parse(await fs.readFile(file, 'utf8')) as ResultDocument;
      }
      return undefined;
    },
    90_000,
    'a first result',
  );
}

/** Files in the rejected folder, inbox-relative: only the corrupt one may ever be there. */
async function rejectedFiles(): Promise<string[]> {
  const entries = await fs.readdir(stack.rejectedDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(stack.rejectedDir, path.join(e.parentPath, e.name)))
    .sort();
}
const onlyTheCorruptFile = ['session-1/broken.jpg', 'session-1/broken.jpg.reason.txt'];

/** Every job settled (acknowledged or terminated): nothing left that could be delivered again. */
async function queueDrained(): Promise<void> {
  await waitUntil(
    async (note) => {
      const jobs = await stack.jobsInStream().catch(() => undefined);
      note(`${jobs ?? 'unknown'} jobs in the stream`);
      return jobs === 0;
    },
    60_000,
    'the job stream to be empty',
  );
}

/**
 * SIGKILL to `victim` at a moment it holds unacknowledged jobs, when it is the only process taking
 * jobs: frozen (SIGSTOP) it can acknowledge nothing more, so jobs in hand seen while it is frozen are
 * still its own when the kill arrives. Frozen with nothing in hand, it runs on and is tried again.
 */
async function killWhileHoldingJobs(victim: Service): Promise<void> {
  await waitUntil(
    async (note) => {
      stack.freeze(victim);
      // Read twice, the second after the first answered: an acknowledgement the process wrote just
      // before it stopped has been taken in by the server by then.
      const held = Math.min(await stack.jobsInHand(), await stack.jobsInHand());
      note(`${held} jobs in hand`);
      if (held > 0) return true;
      stack.thaw(victim);
      return false;
    },
    60_000,
    `${victim.node} to hold a job`,
  );
  await stack.killInference(victim);
}

beforeAll(async () => {
  stack = await Stack.create();
  try {
    await stack.start();
  } catch (err) {
    console.error(await stack.report());
    throw err;
  }
}, 150_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') console.error(await stack.report());
});

afterAll(async () => {
  await stack?.close();
}, 60_000);

describe('the device stack on loopback', () => {
  it('scrapes every service with the repository scrape configuration (targets rewritten; promtool check config)', async () => {
    const check = promtool(['check', 'config', stack.prometheusConfig]);
    expect(check.status, check.output).toBe(0);
    expect(check.output).toContain('SUCCESS');
    await waitUntil(
      async (note) => {
        const res = await get(`${stack.prometheus.url}/api/v1/targets`);
        const targets = res?.status === 200 ? JSON.parse(res.text).data.activeTargets : [];
        const states = targets.map(
          (t: { labels: { job: string }; scrapeUrl: string; health: string; lastError: string }) =>
            `${t.labels.job} ${t.scrapeUrl} ${t.health} ${t.lastError}`,
        );
        note(states.join('; '));
        // ingest, two inference processes, exporter, prometheus itself.
        return targets.length === 5 && targets.every((t: { health: string }) => t.health === 'up');
      },
      30_000,
      'every scrape target to be up',
    );
  });

  it('gives every image dropped into the inbox exactly one result, from both inference processes', async () => {
    const images = new Map<string, Buffer>([
      ['session-1/bus.jpg', bus],
      ['session-1/zidane.jpg', zidane],
      // Calibrated (FEI tag), larger than the model input: tiled, sizes in nm for the size histogram.
      ['session-1/fei-sem-rbc.tif', semTiff],
      ...(await newPhotos('session-1', 9)),
    ]);
    const corrupt = 'session-1/broken.jpg';
    await dropAll(images);
    await stack.drop(corrupt, Buffer.from('these bytes are not a JPEG image\n'.repeat(64)));

    const docs = await resultsOf([...images.keys()]);
    const rejected = path.join(stack.rejectedDir, corrupt);
    await waitUntil(async () => exists(`${rejected}.reason.txt`), 60_000, 'the corrupt file to be set aside');
    await queueDrained();

    expect(await resultProblems(stack.resultsDir, 'session-1', [...images.keys()], model)).toEqual([]);
    expect(await rejectedFiles()).toEqual(onlyTheCorruptFile);
    expect(await exists(path.join(stack.inboxDir, corrupt))).toBe(false);
    const sem = docs.find((d) => d.image.path === 'session-1/fei-sem-rbc.tif');
    expect(sem?.calibration.source).toBe('fei-tiff');
    expect(sem?.detections.some((d) => d.ecdNm !== undefined)).toBe(true);
    // Both processes pull from the one stream: each was waiting for work when the batch arrived.
    expect(new Set(docs.map((d) => d.node))).toEqual(new Set(['stack-inference-1', 'stack-inference-2']));
    // One of these processes is killed next: its figures of this session must be in Prometheus by then.
    await stack.scrapedTwiceSince(Date.now());
  }, 150_000);

  it('loses and duplicates nothing when an inference process is killed (SIGKILL) mid-run', async () => {
    const redeliveredBefore = await stack.redeliveries();
    // The kill must land on jobs in flight by construction, not by luck: the other process leaves
    // (SIGTERM: it finishes what it holds), so every job still unacknowledged is the victim's.
    const [victim, other] = stack.inference;
    await stack.stopInference(other);
    const images = await newPhotos('session-2', 16);
    await dropAll(images);
    await firstResultOf([...images.keys()]);
    await killWhileHoldingJobs(victim);
    // Both back on their ports, so Prometheus scrapes them as the same targets; the survivor under
    // its own name takes the killed process's jobs once their ack wait runs out.
    await stack.startInference(other.node, other.port);
    await stack.startInference('stack-inference-3', victim.port);

    const docs = await resultsOf([...images.keys()]);
    await queueDrained();
    expect(await resultProblems(stack.resultsDir, 'session-2', [...images.keys()], model)).toEqual([]);
    expect(await rejectedFiles()).toEqual(onlyTheCorruptFile);
    const nodes = new Set([victim.node, other.node, 'stack-inference-3']);
    expect(docs.every((d) => nodes.has(d.node))).toBe(true);
    expect(docs.some((d) => d.node === victim.node)).toBe(true);
    // The jobs the killed process held came back after the ack wait and were done by another one.
    expect(await stack.redeliveries(), 'the kill hit no job in flight').toBeGreaterThan(redeliveredBefore);
  }, 150_000);

  it('loses and duplicates nothing when NATS restarts mid-run, and every service is ready again', async () => {
    const running = await newPhotos('session-3', 4);
    await dropAll(running);
    await firstResultOf([...running.keys()]);
    // Jobs must be in the stream while NATS restarts, by construction: inference is frozen (it keeps
    // its connections and whatever it holds), and a second batch is queued that nobody can take.
    for (const s of stack.inference) stack.freeze(s);
    const queued = await newPhotos('session-3', 4);
    const published = await stack.lastJobSeq();
    await dropAll(queued);
    await waitUntil(
      async (note) => {
        const seq = await stack.lastJobSeq();
        note(`last job ${seq}, waiting for ${published + queued.size}`);
        return seq >= published + queued.size;
      },
      60_000,
      'the second batch to be queued',
    );
    // Same port, same JetStream store: the device's NATS container restarting.
    try {
      await stack.nats.restart();
    } finally {
      for (const s of stack.inference) stack.thaw(s);
    }

    const images = [...running.keys(), ...queued.keys()];
    await resultsOf(images);
    await queueDrained();
    expect(await resultProblems(stack.resultsDir, 'session-3', images, model)).toEqual([]);
    expect(await rejectedFiles()).toEqual(onlyTheCorruptFile);
    await Promise.all(stack.services().map((s) => waitReady(s, 60_000)));
    for (const service of [stack.ingest, ...stack.inference]) {
      expect(service.process.output, `${service.node} saw no reconnect`).toContain('reconnected to NATS');
    }
  }, 150_000);

  it('evaluates every alert rule of the repository without error, and lists firing alerts as ALERTS', async () => {
    const rules = await waitUntil(
      async (note) => {
        const res = await get(`${stack.prometheus.url}/api/v1/rules?type=alert`);
        const groups: Array<{
          file: string;
          rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }>;
        }> = res?.status === 200 ? JSON.parse(res.text).data.groups : [];
        const all = groups.filter((g) => g.file.endsWith('/rules.yml')).flatMap((g) => g.rules);
        const pending = all.filter((r) => r.lastEvaluation.startsWith('0001-'));
        note(`${all.length} rules, ${pending.length} not yet evaluated`);
        return all.length > 0 && pending.length === 0 ? all : undefined;
      },
      30_000,
      'every rule of rules.yml to be evaluated',
    );
    const repository = promtool(['check', 'rules', path.join(repoRoot, 'prometheus', 'rules.yml')]);
    expect(repository.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(
      rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError}`),
    ).toEqual([]);
    const firing = await instantQuery(
      stack.prometheus.url,
      `ALERTS{alertname="${testAlert}",alertstate="firing"}`,
    );
    expect(firing.hasData, firing.text).toBe(true);
  });

  // The Device dashboard's GPU and temperature panels read the exporter's fake nvidia-smi and fixture
  // thermal zone (no GPU here), and its firing-alerts table the stack's own always-firing test alert;
  // every other figure is real.
  it('has data for every PromQL expression of every dashboard panel (GPU and thermal zone mocked)', async () => {
    // The Hive dashboard needs a hive: hive-dashboard.test.ts evaluates it against one.
    const queries = dashboardQueries(dashboardsDir, { except: ['hive.json'] });
    expect(queries.length).toBeGreaterThan(0);
    expect(
      await queriesWithoutData(stack.prometheus.url, queries, 60_000),
      'panels that would show "No data"',
    ).toEqual([]);

    // Text panels that show an image from the exporter through the scopehive app's route.
    const images = exporterImages(dashboardsDir);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const res = await fetch(`${stack.exporter.url}${image.path}`);
      expect(res.status, `${image.panel}: GET ${image.path}`).toBe(200);
      expect(res.headers.get('content-type'), image.panel).toMatch(/^image\//);
    }
  }, 90_000);

  it('serves /metrics that pass promtool check metrics from every service', async () => {
    const failures: string[] = [];
    for (const service of stack.services()) {
      const res = await get(`${service.url}/metrics`);
      expect(res?.status, `${service.node} /metrics`).toBe(200);
      const check = promtool(['check', 'metrics'], res?.text ?? '');
      if (check.status !== 0) failures.push(`${service.service} (${service.node}):\n${check.output}`);
    }
    expect(failures).toEqual([]);
  });
});
