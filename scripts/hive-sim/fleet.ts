/**
 * The simulated fleet: which nodes, how fast, and which of them are microscopes. The default fleet
 * is the issue's, with the real devices' speed ratios scaled up so that this machine's own stages
 * (ingest, NATS, preparing, writing) are never the bottleneck.
 */

export interface SimNode {
  name: string;
  /** What the stand-in model run takes on this node, per image (ms). */
  msPerImage: number;
  /**
   * A microscope node: role `both`, images are dropped into its inbox and its share holds their
   * results. Every other node is a `worker` (inference only, no share), like a lab's desktop GPU.
   */
  microscope: boolean;
}

/** Sessions per node: one, as a Jetson's GPU runs one model run at a time. */
export const SESSIONS_PER_NODE = 1;

/**
 * The fleet. The first three (one of each Jetson kind) are the microscopes; the other
 * Jetsons and the x86 desktop GPU are workers.
 */
export const DEFAULT_NODES =
  'orin-1:100,xavier-1:240,nx-1:400,orin-2:100,xavier-2:240,nx-2:400,nx-3:400,nx-4:400,x86-1:60';
export const DEFAULT_IMAGES = 1000;

/** A bad command line; its message is the one line to print. */
export class SimUsageError extends Error {
  override name = 'SimUsageError';
}

/**
 * `name:ms,…` into nodes. The first nodes are the microscopes: three, or one fewer than the fleet
 * when it is smaller (a fleet of one is its own microscope), so that a worker is always there too.
 */
export function parseNodes(value: string): SimNode[] {
  const items = value.split(',').map((s) => s.trim());
  const seen = new Set<string>();
  const parsed = items.map((item) => {
    const match = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63}):(\d{1,6})$/.exec(item);
    if (!match) throw new SimUsageError(`--nodes: "${item}" is not name:ms (e.g. orin-1:100)`);
    const [, name, ms] = match;
    const msPerImage = Number(ms);
    if (msPerImage < 1 || msPerImage > 600_000)
      throw new SimUsageError(`--nodes: ${name}'s ms per image must be 1 to 600000, not ${ms}`);
    if (seen.has(name)) throw new SimUsageError(`--nodes: ${name} is named twice`);
    seen.add(name);
    return { name, msPerImage };
  });
  const microscopes = Math.max(1, Math.min(3, parsed.length - 1));
  return parsed.map((n, i) => ({ ...n, microscope: i < microscopes }));
}

export interface SimArgs {
  nodes: SimNode[];
  images: number;
  faults: boolean;
  json: boolean;
}

/** The command line after `--`; throws SimUsageError with one line on anything it does not take. */
export function parseArgs(argv: readonly string[]): SimArgs {
  let nodes = DEFAULT_NODES;
  let images = DEFAULT_IMAGES;
  let faults = false;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    // `npm run hive:sim -- …` may pass the separator on.
    if (argv[i] === '--') continue;
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new SimUsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--nodes') nodes = value();
    else if (flag === '--images') {
      const v = value();
      if (!/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > 1_000_000)
        throw new SimUsageError(`--images must be a whole number from 1 to 1000000, not "${v}"`);
      images = Number(v);
    } else if (flag === '--faults' && inline === undefined) faults = true;
    else if (flag === '--json' && inline === undefined) json = true;
    else
      throw new SimUsageError(
        `unknown argument "${argv[i]}" (usage: hive:sim -- [--nodes name:ms,…] [--images N] [--faults] [--json])`,
      );
  }
  const parsed = parseNodes(nodes);
  if (faults && !parsed.some((n) => !n.microscope))
    throw new SimUsageError('--faults needs a worker to kill: give at least two nodes');
  return { nodes: parsed, images, faults, json };
}

/** Images per second a node can do: its capacity. */
export function capacity(node: Pick<SimNode, 'msPerImage'>): number {
  return (1000 / node.msPerImage) * SESSIONS_PER_NODE;
}
