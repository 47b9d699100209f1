/**
 * The Hive dashboard against a real `prometheus` scraping a real node's /metrics in a hive: a real
 * `nats-server -js`, three nodes heartbeating into the node registry as the pipeline does (a worker,
 * a "both" and a microscope-only node), the exporter's hive view, and the inference service's hive
 * metrics over the real job queue. Every panel's query must have data; one without fails the test.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type OpenedQueue, openQueue, sha256 } from '@scopehive/shared';
import { ImageStore } from '@scopehive/shared/hive';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startHiveView } from '../../services/exporter/src/hive-view.ts';
import { startNodeHeartbeat } from '../../services/inference/src/pipeline/hive-heartbeat.ts';
import { createHiveMetrics } from '../../services/inference/src/pipeline/hive-metrics.ts';
import { freePort, type NatsServer, startNatsServer } from '../../shared/test/helpers/nats-server.ts';
import { testJob } from '../../shared/test/queue/test-job.ts';
import { requireTool } from '../static/helpers.ts';
import { dashboardQueries, queriesWithoutData } from './helpers/dashboards.ts';
import { StackProcess } from './helpers/processes.ts';
import { get, repoRoot, waitUntil } from './helpers/stack.ts';

const intervalMs = 500;
const log = pino({ level: 'silent' });
const cleanup: Array<() => unknown> = [];
let server: NatsServer;
let opened: OpenedQueue;
let root: string;
let prometheusUrl: string;
let prometheus: StackProcess | undefined;

/** Serves `registry` on /metrics on a free loopback port, as a service does. */
async function serveMetrics(registry: Registry): Promise<string> {
  const web = http.createServer(async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => web.close(resolve)));
  return `127.0.0.1:${(web.address() as AddressInfo).port}`;
}

/** A real prometheus scraping `target` every second. */
async function startPrometheus(target: string): Promise<void> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const config = path.join(root, 'prometheus.yml');
  await fs.writeFile(
    config,
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'exporter', static_configs: [{ targets: [target] }] }],
    }),
  );
  prometheus = new StackProcess({
    name: `prometheus :${port}`,
    command: requireTool('prometheus', 'prometheus'),
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(root, 'tsdb')}`,
      `--web.listen-address=${address}`,
    ],
    cwd: root,
    env: { PATH: process.env.PATH },
  });
  prometheusUrl = `http://${address}`;
  const proc = prometheus;
  await waitUntil(
    async () => {
      if (proc.exit) throw new Error(`prometheus exited (${proc.exit.code ?? proc.exit.signal})`);
      return (await get(`${prometheusUrl}/-/ready`))?.status === 200;
    },
    30_000,
    'prometheus to be ready',
  );
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-hive-dashboard-'));
  server = await startNatsServer();
  opened = await openQueue(
    { natsUrl: server.url, capacity: 100, ackWaitMs: 30_000, maxDeliver: 3 },
    { name: 'hive-dashboard-test', node: 'orin-1', logger: log },
  );
  const js = opened.jetstream;
  if (!js) throw new Error('no JetStream client');
  cleanup.push(() => opened.queue.close());
  // Jobs waiting for two models: the per-model queue depth.
  for (let n = 0; n < 3; n++) await opened.queue.publish(testJob(n, 'particles'));
  await opened.queue.publish(testJob(9, 'cells'));

  const models = (sessions: number) => [
    { name: 'particles', sha256: 'a'.repeat(64), provider: 'tensorrt', replicas: sessions },
    { name: 'cells', sha256: 'b'.repeat(64), provider: 'tensorrt', replicas: 1 },
  ];
  const nodes = [
    { node: 'orin-1', role: 'both' as const, models: () => models(2), jobsInFlight: () => 2, rate: 8 },
    { node: 'desktop', role: 'worker' as const, models: () => models(4), jobsInFlight: () => 3, rate: 14 },
    { node: 'scope-1', role: 'microscope' as const },
  ];
  for (const n of nodes) {
    const rate = 'rate' in n ? n.rate : undefined;
    const heartbeat = await startNodeHeartbeat({
      js,
      node: n.node,
      role: n.role,
      models: 'models' in n ? n.models : undefined,
      jobsInFlight: 'jobsInFlight' in n ? n.jobsInFlight : undefined,
      imagesPerSecond: rate === undefined ? undefined : () => ({ particles: rate, cells: rate / 2 }),
      intervalMs,
      logger: log,
    });
    cleanup.push(() => heartbeat.close());
  }

  // This node's /metrics, as its services serve it: every series carries the node label.
  const registry = new Registry();
  registry.setDefaultLabels({ node: 'orin-1' });
  const view = startHiveView({ js, registry, intervalMs, refreshMs: 500, logger: log });
  cleanup.push(() => view.close());
  const hive = createHiveMetrics(registry, { queue: opened.queue });

  // Transfers while the test runs, so the transfer-time rates move: a real image-store read for
  // `image`, a request to the server for `result`.
  const images = await ImageStore.open(js, { replicas: 1 });
  const file = path.join(root, 'image.bin');
  const bytes = Buffer.alloc(256 * 1024, 7);
  await fs.writeFile(file, bytes);
  const hash = sha256(bytes);
  await images.put(file, hash);
  const stop = new AbortController();
  const transferring = (async () => {
    while (!stop.signal.aborted) {
      await hive.timed('image', () => images.read(hash));
      await hive.timed('result', () => opened.queue.depth());
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  cleanup.push(async () => {
    stop.abort();
    await transferring;
  });

  await startPrometheus(await serveMetrics(registry));
}, 60_000);

afterAll(async () => {
  if (prometheus) {
    prometheus.signal('SIGTERM');
    await prometheus.exited;
  }
  for (const undo of cleanup.splice(0).reverse()) await undo();
  await server?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
}, 60_000);

describe('the Hive dashboard', () => {
  it('has data for every PromQL expression of every panel, scraped by a real Prometheus from a hive', async () => {
    const queries = dashboardQueries(path.join(repoRoot, 'grafana', 'dashboards'), { only: ['hive.json'] });
    expect(queries.length).toBeGreaterThan(0);
    expect(
      await queriesWithoutData(prometheusUrl, queries, 60_000),
      'panels that would show "No data"',
    ).toEqual([]);
  }, 90_000);
});
