/**
 * One hive node as `npm start` runs it on a device, in a process group of its own with its own data
 * folder, on a loopback cluster: SCOPEHIVE_HIVE=true, its role and name, NATS_URL listing every
 * server with the node's own first. A short ack wait, so that a job held by a dead node comes back
 * within seconds.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultDocument } from '@scopehive/shared';
import type { LoopbackCluster } from '../../../scripts/hive/loopback-cluster.ts';
import {
  type FaultFolders,
  makeFaultFolders,
  PipelineProcess,
  waitReady,
} from '../../faults/helpers/pipeline-process.ts';
import { addModel, exists, readJson, resultFiles } from '../../integration/helpers/pipeline.ts';

export const HIVE_ACK_WAIT_MS = 3000;

export type HiveRole = 'microscope' | 'both' | 'worker';

export interface HiveNodeOptions {
  name: string;
  role: HiveRole;
  cluster: LoopbackCluster;
  /** Index of the node's own server in `cluster.servers`: listed first in its NATS_URL. */
  own: number;
  model: string;
  /** Settings on top (analysis limits, tiling). */
  env?: Record<string, string>;
  /** Servers instead of the cluster's (a node whose own server is outside the hive). */
  urls?: readonly string[];
}

/** A node's data folder and, while it runs, its process; started again on the same folder. */
export class HiveNode {
  readonly name: string;
  readonly role: HiveRole;
  readonly folders: FaultFolders;
  readonly #env: Record<string, string>;
  #process: PipelineProcess | undefined;

  private constructor(options: HiveNodeOptions, folders: FaultFolders) {
    this.name = options.name;
    this.role = options.role;
    this.folders = folders;
    const { servers } = options.cluster;
    const urls =
      options.urls ??
      [servers[options.own], ...servers.filter((_s, i) => i !== options.own)].map((s) => s.url);
    this.#env = {
      SCOPEHIVE_HIVE: 'true',
      SCOPEHIVE_ROLE: options.role,
      SCOPEHIVE_NODE_NAME: options.name,
      NATS_URL: urls.join(','),
      SCOPEHIVE_ACK_WAIT_MS: String(HIVE_ACK_WAIT_MS),
      ...options.env,
    };
  }

  /** Makes the node's folders with the model in them (a microscope reads it for names and hashes). */
  static async create(options: HiveNodeOptions): Promise<HiveNode> {
    const folders = await makeFaultFolders();
    await addModel(folders.modelsDir, options.model);
    return new HiveNode(options, folders);
  }

  get process(): PipelineProcess {
    if (!this.#process) throw new Error(`${this.name} was never started`);
    return this.#process;
  }

  get running(): boolean {
    return this.#process !== undefined && this.#process.process.exit === undefined;
  }

  /** Starts `npm start` on the node's folder; waits until /readyz says 200 unless `ready: false`. */
  async start(options: { ready?: boolean } = {}): Promise<PipelineProcess> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.#process = await PipelineProcess.start(this.folders.dataDir, { env: this.#env, ready: false });
    if (options.ready !== false) await waitReady(this.#process, 90_000);
    return this.#process;
  }

  /** Its output for a failure report, if it ever ran. */
  report(): string {
    return this.#process ? `${this.name}: ${this.#process.process.report()}` : `${this.name}: never started`;
  }

  /** The result document of `image` (inbox-relative) for `model` on this node's share, if any. */
  async result(image: string, model: string): Promise<ResultDocument | undefined> {
    const { json } = resultFiles(this.folders.resultsDir, image, model);
    return (await exists(json)) ? readJson<ResultDocument>(json) : undefined;
  }

  /** Every file under the node's results and rejected folders, hidden temporary files included. */
  async writtenFiles(): Promise<string[]> {
    const found: string[] = [];
    for (const dir of [this.folders.resultsDir, this.folders.rejectedDir]) {
      const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
      for (const e of entries)
        if (e.isFile()) found.push(path.relative(this.folders.dataDir, path.join(e.parentPath, e.name)));
    }
    return found;
  }
}
