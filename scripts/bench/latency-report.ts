/** Prints the latency case's table (or JSON): measurements beside the aims, never compared with them. */

export interface ModeReport {
  /** Images timed (the warm-up image is not). */
  images: number;
  /** Drop to result, ms. */
  p50Ms: number;
  p95Ms: number;
  /** The same images' analysis time (the sum of the result document's timings), ms. */
  analysisP50Ms: number;
  analysisP95Ms: number;
  /** p50Ms / analysisP50Ms */
  ratio: number;
}

export interface LatencyReport {
  case: 'latency';
  model: string;
  cpus: number;
  /** The 1-minute load average when the run started. */
  loadAverage: number;
  drop: 'write' | 'rename';
  stableMs: number;
  pollIntervalMs: number;
  local: ModeReport;
  polled: ModeReport;
  localRatio: number;
  polledRatio: number;
  cli: { photo: string; wallMs: number[]; p50Ms: number };
  aims: { localRatio: number; localP50Ms: number; polledP50Ms: number; cliWallMs: number };
}

const ms = (v: number) => `${Math.round(v)} ms`;

export function printLatency(r: LatencyReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const how = r.drop === 'write' ? 'written into the inbox' : 'renamed into the inbox';
  console.log(
    `scopehive bench, latency: photos ${how} one at a time, ${r.model}, ${r.cpus} CPUs (load ${r.loadAverage.toFixed(1)}), ` +
      `SCOPEHIVE_STABLE_MS=${r.stableMs}, SCOPEHIVE_POLL_INTERVAL_MS=${r.pollIntervalMs}`,
  );
  console.log(
    'drop = the file closed (or renamed in); result = the result JSON appears (inotify on results/)',
  );
  console.log('');
  console.log(
    '| watching | images | drop→result p50 | p95 | analysis p50 | p95 | **p50 / analysis** | aim for p50 |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  const row = (name: string, m: ModeReport, aim: string) =>
    console.log(
      `| ${name} | ${m.images} | ${ms(m.p50Ms)} | ${ms(m.p95Ms)} | ${ms(m.analysisP50Ms)} | ${ms(m.analysisP95Ms)} | **${m.ratio.toFixed(2)}** | ${aim} |`,
    );
  row('local writes (inotify)', r.local, `≤ 1.5 × analysis = ${ms(r.aims.localP50Ms)}`);
  row(
    `polling every ${r.pollIntervalMs} ms (NFS)`,
    r.polled,
    `≤ ${r.pollIntervalMs} ms + 1.5 × analysis = ${ms(r.aims.polledP50Ms)}`,
  );
  console.log('');
  const runs = r.cli.wallMs.map(ms).join(', ');
  console.log(
    `npx scopehive analyze on one photo (${r.cli.photo}), wall: **${ms(r.cli.p50Ms)}** ` +
      `(median of ${r.cli.wallMs.length}: ${runs}); aim < ${ms(r.aims.cliWallMs)}`,
  );
}
