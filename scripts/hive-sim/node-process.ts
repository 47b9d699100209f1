/**
 * One simulated node in a process of its own, so that `--faults` can SIGKILL it for real, as a
 * device losing power would: `node --import tsx node-process.ts '{"env":{…},"msPerImage":60}'`.
 * Tells its parent over IPC when it is up; stops cleanly on SIGTERM.
 */
import { keepRunning } from '@scopehive/shared';
import { nodeLogger, startSimNode } from './node.ts';

interface NodeProcessArgs {
  env: Record<string, string>;
  msPerImage: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as NodeProcessArgs;
const logger = nodeLogger(args.env.SCOPEHIVE_NODE_NAME ?? 'node');
await keepRunning(() => startSimNode({ env: args.env, msPerImage: args.msPerImage, logger }));
process.send?.({ ready: true });
