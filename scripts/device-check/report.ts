/** One model's figures on this device. */
export interface ModelCheck {
  model: string;
  provider: string;
  /** Opening the first session, in seconds: with TensorRT the engine build when none was cached. */
  openSeconds: number;
  engineBuilt: boolean;
  runs: number;
  /** session.run alone, prepared inputs, one after another. */
  bareImagesPerSecond: number;
  /** Decode, letterbox, run and output decoding of a real image, one after another. */
  pipelineImagesPerSecond: number;
}

const COLUMNS = ['model', 'provider', 'open s', 'engine', 'runs', 'bare img/s', 'pipeline img/s'] as const;

function cells(c: ModelCheck): string[] {
  return [
    c.model,
    c.provider,
    c.openSeconds.toFixed(1),
    c.provider !== 'tensorrt' ? '-' : c.engineBuilt ? 'built' : 'cached',
    String(c.runs),
    c.bareImagesPerSecond.toFixed(1),
    c.pipelineImagesPerSecond.toFixed(1),
  ];
}

/** The results as a Markdown table (one row per model), readable in a terminal and pasteable. */
export function formatTable(checks: readonly ModelCheck[]): string {
  const rows = [COLUMNS as readonly string[], ...checks.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(rows[0]),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}
