/** Prints the benchmark's table (or JSON): ratios measured in one run, never compared with a threshold. */

export interface CaseReport {
  case: string;
  images: number;
  runsPerImage: number;
  sessions: number;
  bare: { runsPerSecond: number; imagesPerSecond: number };
  bareParallel: { runsPerSecond: number };
  pipeline: { runsPerSecond: number; imagesPerSecond: number };
  ratio: number;
  ratioToParallel: number;
  stageShare: Record<string, number>;
}

export interface BenchHeader {
  model: string;
  input: string;
  provider: string;
  cpus: number;
  rounds: number;
}

export function printReport(header: BenchHeader, reports: readonly CaseReport[], json: boolean): void {
  const { rounds } = header;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...header, cases: reports }, null, 2)}\n`);
  } else {
    const f = (v: number, d = 1) => v.toFixed(d);
    console.log(
      `scopehive bench: ${header.model} (${header.input}, ${header.provider}), ${header.cpus} CPUs, ${rounds} rounds`,
    );
    console.log('');
    console.log(
      "| case | images | model runs/image | bare runs/s: 1 session | bare runs/s: the pipeline's sessions | pipeline runs/s | pipeline images/s | **pipeline / bare** | pipeline / bare, same sessions |",
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of reports) {
      console.log(
        `| ${r.case} | ${r.images} | ${f(r.runsPerImage, 0)} | ${f(r.bare.runsPerSecond, 2)} | ${f(r.bareParallel.runsPerSecond, 2)} (${r.sessions}) | ${f(r.pipeline.runsPerSecond, 2)} | ${f(r.pipeline.imagesPerSecond, 2)} | **${f(r.ratio, 3)}** | ${f(r.ratioToParallel, 3)} |`,
      );
    }
    for (const r of reports) {
      console.log('');
      console.log(`${r.case}: share of the pipeline's stage time (stages overlap)`);
      console.log(
        Object.entries(r.stageShare)
          .map(([stage, share]) => `${stage} ${f(share * 100)} %`)
          .join(' · '),
      );
    }
  }
}
