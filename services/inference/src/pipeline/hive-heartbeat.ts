import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JetStreamClient, Logger } from '@scopehive/shared';
import { NodeHeartbeat, type NodeModel, type NodeRole, type NodeStatus } from '@scopehive/shared/hive';
import type { LoadedModel } from '../model/model.ts';

export interface StartNodeHeartbeatOptions {
  js: JetStreamClient;
  /** This node's name (`config.node.name`). */
  node: string;
  role: NodeRole;
  /** The models this node runs right now; none on a microscope-only node. */
  models?: () => readonly Pick<LoadedModel, 'name' | 'sha256' | 'provider' | 'replicas'>[];
  /** Jobs this node holds right now (the worker's `jobsInHand()`); 0 when it runs no worker. */
  jobsInFlight?: () => number;
  /** Images analysed per second by model, as the pipeline measures them. */
  imagesPerSecond?: () => ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Where proc and sysfs are mounted (the device section's settings); default `/proc`, `/sys`. */
  procRoot?: string;
  sysRoot?: string;
  /** Default 5 s: a node that dies is gone from the registry within three. */
  intervalMs?: number;
  /** 3 once three JetStream servers exist, 1 below that. */
  replicas?: number;
  /** Default `scopehive-nodes` (tests use their own). */
  bucket?: string;
  logger: Logger;
}

/**
 * Heartbeats this node into the hive's node registry, each one describing the node as it is at that
 * moment: its role, device, execution provider, models and sessions, jobs in hand, frame rate per
 * model and version. On close the node leaves the registry at once.
 */
export async function startNodeHeartbeat(
  options: StartNodeHeartbeatOptions,
): Promise<{ close(): Promise<void> }> {
  const deviceType = await readDeviceType(options.procRoot ?? '/proc', options.sysRoot ?? '/sys');
  const version = scopehiveVersion();
  const heartbeat = new NodeHeartbeat({
    js: options.js,
    node: options.node,
    intervalMs: options.intervalMs ?? 5000,
    replicas: options.replicas,
    bucket: options.bucket,
    log: options.logger,
    describe: (): NodeStatus => {
      const loaded = options.models?.() ?? [];
      const rates = options.imagesPerSecond?.() ?? {};
      return {
        role: options.role,
        deviceType,
        provider: providerOf(loaded),
        models: loaded.map((m): NodeModel => ({ name: m.name, sha256: m.sha256, sessions: m.replicas })),
        jobsInFlight: options.jobsInFlight?.() ?? 0,
        imagesPerSecond: Object.fromEntries(rates instanceof Map ? rates : Object.entries(rates)),
        version,
      };
    },
  });
  await heartbeat.start();
  return { close: () => heartbeat.close() };
}

/**
 * The execution provider the node's models run on. Each model takes the first provider that loads
 * for it, so they can differ (a TensorRT-incompatible model on CUDA): then all are named.
 */
function providerOf(models: readonly Pick<LoadedModel, 'provider'>[]): string {
  const providers = [...new Set(models.map((m) => m.provider))].sort();
  return providers.length === 0 ? 'none' : providers.join('+');
}

/**
 * The device, in balena's device-type words where it is a Jetson (`jetson-agx-orin`,
 * `jetson-xavier-nx`, …) from the device tree's model string, else the processor architecture
 * (`x86-64`, `arm64`).
 */
export async function readDeviceType(procRoot: string, sysRoot: string): Promise<string> {
  const candidates = [
    path.join(procRoot, 'device-tree', 'model'),
    path.join(sysRoot, 'firmware', 'devicetree', 'base', 'model'),
  ];
  for (const file of candidates) {
    const model = await fs.readFile(file, 'latin1').catch(() => undefined);
    const type = model === undefined ? undefined : jetsonType(model);
    if (type) return type;
  }
  return architectureName(process.arch);
}

/** `NVIDIA Jetson AGX Orin Developer Kit\0` → `jetson-agx-orin`; undefined for anything not a Jetson. */
export function jetsonType(deviceTreeModel: string): string | undefined {
  const text = deviceTreeModel.replace(/\0/g, ' ').toLowerCase();
  const match = /jetson[\s-]+(.*)/.exec(text);
  if (!match) return undefined;
  const words = match[1]
    .replace(/\b(developer kit|devkit|engineering reference|module|series)\b.*$/, '')
    .replace(/[([].*$/, '')
    .trim()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.length === 0 ? 'jetson' : `jetson-${words.join('-')}`;
}

function architectureName(arch: string): string {
  return arch === 'x64' ? 'x86-64' : arch;
}

/** The root package.json's version: the scopehive release this node runs. */
function scopehiveVersion(): string {
  const file = new URL('../../../../package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  return typeof version === 'string' && version !== '' ? version : 'unknown';
}
