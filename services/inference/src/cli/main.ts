/**
 * `npx scopehive analyze <files|folders> [--model …] [--out …]`: batch analysis through the same
 * pipeline as the service, with a progress bar, a summary table, and exit code 1 when any file failed.
 */
// First: starts the model's thread before the rest of the CLI loads (prestart.ts says why).
import './prestart.ts';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitOnStartupError, startupProblem, supportedFormatsText } from '@scopehive/shared';
import { SessionThread } from '../model/session-thread.ts';
import { type AnalyzeReport, analyzeFiles } from './analyze.ts';
import { UsageError } from './inputs.ts';

const USAGE = `usage: scopehive analyze <files or folders…> [--model <name|file.onnx>]… [--out <folder>] [--quiet]
       scopehive --version

  Analyses every ${supportedFormatsText()} image given (folders recursively) with every model
  (default: all models in SCOPEHIVE_MODELS_DIR, ./data/models) and writes the results to --out
  (default: SCOPEHIVE_RESULTS_DIR, ./data/results). A folder's scopehive.json (pixel size, data bar)
  applies as in the watched inbox. Images that already have a current result are skipped.
  Exit code: 0 all analysed, 1 some files failed or a setting is wrong, 2 bad usage.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function analyze(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('give at least one image file or folder');
  const report = await analyzeFiles({
    paths: positionals,
    models: values.model ?? [],
    out: values.out,
    quiet: values.quiet ?? false,
  });
  process.stdout.write(`${summaryTable(report)}\n`);
  process.stdout.write(`results in ${report.resultsDir}\n`);
  for (const f of report.failures) process.stderr.write(`failed: ${f.image} (${f.model}): ${f.reason}\n`);
  return report.failures.length > 0 ? 1 : 0;
}

export function summaryTable(report: AnalyzeReport): string {
  const rows = [...report.perModel].map(([name, s]) => [
    name,
    String(s.ok),
    String(s.skipped),
    String(s.failed),
    String(s.objects),
    [...s.classes]
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', '),
  ]);
  return table(['model', 'analysed', 'skipped', 'failed', 'objects', 'classes'], rows);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`scopehive ${version()}\n`);
    return 0;
  }
  if (command === 'analyze' || command === 'analyse') return analyze(rest);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  throw new UsageError(`unknown command: ${command}`);
}

main(process.argv.slice(2)).then(
  async (code) => {
    await SessionThread.dropSpare();
    process.exit(code);
  },
  async (err) => {
    await SessionThread.dropSpare();
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`scopehive: ${err.message}\n`);
      process.exit(2);
    }
    if (startupProblem(err)) exitOnStartupError(err);
    process.stderr.write(`scopehive: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
