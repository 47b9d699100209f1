/** What a node does in the hive: a microscope node has an inbox and a result writer, a worker runs models. */
export type NodeRole = 'microscope' | 'worker' | 'both';

const ROLES: readonly NodeRole[] = ['microscope', 'worker', 'both'];

/** One model a node serves, and how many sessions (jobs at once) it runs it with. */
export interface NodeModel {
  name: string;
  sha256: string;
  sessions: number;
}

/** What a node says about itself in each heartbeat, supplied live by the caller. */
export interface NodeStatus {
  role: NodeRole;
  /** `jetson-agx-orin`, `x86-64`, … */
  deviceType: string;
  /** The execution provider in use (`tensorrt`, `cuda`, `cpu`). */
  provider: string;
  models: NodeModel[];
  jobsInFlight: number;
  /** Images analysed per second, by model name. */
  imagesPerSecond: Record<string, number>;
  /** The scopehive version the node runs. */
  version: string;
}

/** One node's entry in the registry. */
export interface NodeEntry extends NodeStatus {
  node: string;
  /**
   * When the node wrote the entry, by the node's own clock (ms since epoch): for display only. A
   * node's clock may be wrong by minutes; whether a node is alive is the bucket's max_age, kept by
   * the server.
   */
  seenAt: number;
}

/** Validates an entry read back from the registry (any node may write it); throws one line saying what is wrong. */
export function parseNodeEntry(raw: unknown): NodeEntry {
  const fail = (what: string): never => {
    throw new Error(`node entry is malformed: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const o = raw as Record<string, unknown>;
  const text = (key: string): string => {
    const v = o[key];
    return typeof v === 'string' && v !== '' ? v : fail(`no ${key}`);
  };
  const count = (v: unknown, what: string): number =>
    Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`bad ${what}`);
  const node = text('node');
  if (!ROLES.includes(o.role as NodeRole)) fail(`role must be one of ${ROLES.join(', ')}`);
  if (!Array.isArray(o.models)) fail('models is not a list');
  const models = (o.models as unknown[]).map((m, i): NodeModel => {
    const model = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    if (typeof model.name !== 'string' || model.name === '') fail(`model ${i} has no name`);
    if (typeof model.sha256 !== 'string' || model.sha256 === '') fail(`model ${i} has no sha256`);
    return {
      name: model.name as string,
      sha256: model.sha256 as string,
      sessions: count(model.sessions, `sessions of model ${i}`),
    };
  });
  const rates = o.imagesPerSecond;
  if (typeof rates !== 'object' || rates === null || Array.isArray(rates))
    fail('imagesPerSecond is not an object');
  const imagesPerSecond: Record<string, number> = {};
  for (const [model, rate] of Object.entries(rates as Record<string, unknown>)) {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) fail(`bad images/s for ${model}`);
    imagesPerSecond[model] = rate as number;
  }
  if (typeof o.seenAt !== 'number' || !Number.isFinite(o.seenAt)) fail('bad seenAt');
  return {
    node,
    role: o.role as NodeRole,
    deviceType: text('deviceType'),
    provider: text('provider'),
    models,
    jobsInFlight: count(o.jobsInFlight, 'jobsInFlight'),
    imagesPerSecond,
    version: text('version'),
    seenAt: o.seenAt as number,
  };
}
