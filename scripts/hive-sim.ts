/**
 * `npm run hive:sim -- [--nodes name:ms,…] [--images N] [--faults] [--json]`: the hive simulation.
 * A real three-server NATS cluster on loopback and every node's real ingest, image store, job queue,
 * results stream and sink; only the model run is a stand-in taking the node's time per image. The
 * default fleet, the microscopes and what is measured are described in scripts/hive-sim/fleet.ts and
 * scripts/hive-sim/run.ts. `--json` prints the report alone on stdout; logs go to stderr.
 */
import { parseArgs, SimUsageError } from './hive-sim/fleet.ts';
import { formatTable } from './hive-sim/report.ts';
import { runSimulation } from './hive-sim/run.ts';

let args: ReturnType<typeof parseArgs>;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof SimUsageError)) throw err;
  process.stderr.write(`hive:sim: ${err.message}\n`);
  process.exit(1);
}
const report = await runSimulation({
  ...args,
  progress: (line) => process.stderr.write(`hive:sim: ${line}\n`),
});
process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : formatTable(report));
process.exit(0);
