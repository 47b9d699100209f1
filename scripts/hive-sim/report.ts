/** The simulation's report as a table for people (`--json` prints the report object itself). */
import type { SimReport } from './run.ts';

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

export function formatTable(report: SimReport): string {
  const header = ['node', 'role', 'ms/image', 'images', 'share', 'expected', 'off by', 'busy'];
  const rows = report.nodes.map((n) => [
    n.node,
    n.role,
    String(n.msPerImage),
    String(n.images),
    pct(n.share),
    pct(n.expectedShare),
    `${((n.share - n.expectedShare) * 100).toFixed(1)} pts`,
    n.busy === undefined ? '-' : pct(n.busy),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const lines = [
    `SIMULATION: the model run is a stand-in taking each node's ms/image; NATS, ingest, image store, queue, results and sink are real.`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `images ${report.images}, done ${report.images - report.lost}, lost ${report.lost}, duplicated ${report.duplicated} (${report.rewritten} written again on the origin, ${report.elsewhere} on another share)`,
    `seconds ${report.seconds} (first job published → last result written; ingest start-up before it: ${report.ingestSeconds} s)`,
    `utilisation ${pct(report.utilisation)} (images done / (summed capacity × seconds)); busy: the share of seconds a node's session was running`,
  ];
  const { host } = report;
  lines.push(
    `this process (every in-process node): event loop delay mean ${host.eventLoopDelayMeanMs} ms, p99 ${host.eventLoopDelayP99Ms} ms; CPU ${host.cpuCores} cores`,
  );
  if (report.faults)
    lines.push(
      `faults: worker ${report.faults.killedWorker} SIGKILLed and NATS server ${report.faults.killedServer} killed at ${report.faults.atImages} images done`,
    );
  return `${lines.join('\n')}\n`;
}
