/**
 * A small real hive for the Hive page: a nats-server, two nodes heartbeating into the node registry on
 * their own connections (as on their devices), this node's hive view on a /metrics endpoint, and a
 * real Prometheus scraping it, which Grafana's data source proxy (the harness's) reads.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NodeHeartbeat, type NodeStatus } from '@scopehive/shared/hive';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startHiveView } from '../../../services/exporter/src/hive-view.ts';
import { freePort, startNatsServer } from '../../../shared/test/helpers/nats-server.ts';

const log = pino({ level: 'silent' });
/** How often each node heartbeats (the registry's entries outlive a few of these). */
const intervalMs = 1000;

export interface Hive {
  prometheusUrl: string;
  close(): Promise<void>;
}

const node = (deviceType: string, provider: string, jobsInFlight: number, rate: number): NodeStatus => ({
  role: 'both',
  deviceType,
  provider,
  models: [{ name: 'particles', sha256: 'a'.repeat(64), sessions: 2 }],
  jobsInFlight,
  imagesPerSecond: { particles: rate },
  version: '0.1.0',
});

export async function startHive(): Promise<Hive> {
  const undo: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
  };
  try {
    const nats = await startNatsServer();
    undo.push(() => nats.close());
    const connections: NatsConnection[] = [];
    for (const [name, status] of [
      ['scope-lab-7', node('jetson-agx-orin-devkit', 'tensorrt', 2, 9.5)],
      ['scope-lab-8', node('genericx86-64-ext', 'cpu', 0, 1.25)],
    ] as const) {
      const nc = await connect({ servers: nats.url });
      connections.push(nc);
      const heartbeat = new NodeHeartbeat({
        js: jetstream(nc),
        node: name,
        intervalMs,
        describe: () => status,
        log,
      });
      await heartbeat.start();
      undo.push(async () => {
        await heartbeat.close();
        await nc.close();
      });
    }
    const viewer = await connect({ servers: nats.url });
    undo.push(() => viewer.close());
    const registry = new Registry();
    registry.setDefaultLabels({ node: 'scope-lab-7' });
    const view = startHiveView({ js: jetstream(viewer), registry, intervalMs, refreshMs: 500, logger: log });
    undo.push(() => view.close());

    const metrics = http.createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    });
    metrics.listen(0, '127.0.0.1');
    await new Promise((resolve) => metrics.once('listening', resolve));
    undo.push(() => new Promise((resolve) => metrics.close(resolve)));

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-hive-prometheus-'));
    undo.push(() => fs.rm(dir, { recursive: true, force: true }));
    const target = `127.0.0.1:${(metrics.address() as AddressInfo).port}`;
    await fs.writeFile(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const port = await freePort();
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/usr/bin` } },
    );
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    undo.push(async () => {
      prometheus.kill('SIGTERM');
      await exited;
    });
    const prometheusUrl = `http://127.0.0.1:${port}`;
    // Both nodes, scraped: what the Hive page will show.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${prometheusUrl}/api/v1/query?query=scopehive_hive_node_info`).catch(
        () => undefined,
      );
      const body = res?.ok ? ((await res.json()) as { data: { result: unknown[] } }) : undefined;
      if ((body?.data.result.length ?? 0) >= 2) break;
      if (Date.now() > deadline) throw new Error('Prometheus never showed both hive nodes');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { prometheusUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}
