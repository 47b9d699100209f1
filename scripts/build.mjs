/**
 * The build: the TypeScript that production runs, compiled to JavaScript. Each workspace's src/ goes
 * to its dist/ whole (the package's "scopehive-dist" export points there), and scripts/start.ts with
 * the scripts it imports goes to scripts/dist/ (npm start). Files are compiled one by one with
 * TypeScript's transpileModule and the options of tsconfig.build.json (`./x.ts` imports become
 * `./x.js`); any other file in src/ (session-thread.mjs) is copied. No type checking here: `npm test`
 * and `npm run check` do that. A whole tsc program took 22 s on a loaded 2-core machine, this takes
 * about 1 s, and its up-to-date check is a hash of every source (~10 ms), so `npm start` and the
 * scopehive bin can afford to run it every time and never run an edited source stale.
 *
 * Plain JavaScript, not TypeScript: it runs before anything is compiled, without a loader.
 *
 *   node scripts/build.mjs                         everything (npm ci runs it as `prepare`)
 *   node scripts/build.mjs shared services/ingest  these folders only (the image builds)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..');
const MANIFEST = '.build.json';
/** What produced the outputs: a change to either file recompiles everything. */
const RECIPE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * What is compiled, relative to `root`: every workspace of its package.json (src/ to dist/, every
 * file), and scripts/ from the entry start.ts (its relative imports, followed).
 */
export function buildUnits(root = repoRoot) {
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return [
    ...workspaces.map((w) => ({ name: w, src: `${w}/src`, out: `${w}/dist` })),
    { name: 'scripts', src: 'scripts', out: 'scripts/dist', entries: ['start.ts'] },
  ];
}

/** The compiled file of a source file (absolute or relative to `root`). */
export function compiledPath(source, root = repoRoot) {
  const rel = path.relative(root, path.resolve(root, source)).split(path.sep).join('/');
  const unit = buildUnits(root).find((u) => rel.startsWith(`${u.src}/`));
  if (!unit) throw new Error(`${rel} is not in any compiled folder`);
  return path.join(root, unit.out, outputName(rel.slice(unit.src.length + 1)));
}

const outputName = (rel) => (rel.endsWith('.ts') ? `${rel.slice(0, -3)}.js` : rel);

function readManifest(root, unit) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, unit.out, MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
}

function recipeHash(root) {
  return sha256(RECIPE_FILES.map((f) => fs.readFileSync(path.join(root, f), 'utf8')).join('\0'));
}

/** Every file under a workspace's src/, relative to it. */
function walk(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) =>
      path
        .relative(dir, path.join(e.parentPath ?? e.path, e.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

/**
 * The sources a unit is compiled from, with their hashes. For scripts/, the files the last build
 * followed from the entries: a new import can only appear by changing one of them.
 */
function currentSources(root, unit, manifest) {
  const dir = path.join(root, unit.src);
  const names = unit.entries ? Object.keys(manifest?.files ?? {}) : walk(dir);
  const files = {};
  for (const name of names) {
    try {
      files[name] = sha256(fs.readFileSync(path.join(dir, name)));
    } catch {
      files[name] = undefined; // gone since the last build
    }
  }
  return files;
}

/** Why a unit's outputs are not those of its sources now, or undefined when they are. */
function staleness(root, unit, recipe) {
  const manifest = readManifest(root, unit);
  if (!manifest) return 'never built';
  if (manifest.recipe !== recipe) return 'build settings changed';
  const now = currentSources(root, unit, manifest);
  const names = new Set([...Object.keys(now), ...Object.keys(manifest.files)]);
  for (const name of names) {
    if (now[name] !== manifest.files[name]) return `${unit.src}/${name} changed`;
  }
  return undefined;
}

/** Writes through a temporary file, so that a process starting meanwhile never reads half a file. */
function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

async function loadTypeScript() {
  try {
    return (await import('typescript')).default;
  } catch (err) {
    throw new Error(
      `the sources changed and TypeScript is not installed to compile them (npm ci installs it): ${err.message}`,
    );
  }
}

function compilerOptions(ts, root) {
  const file = path.join(root, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  const parsed = error ?? ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, file);
  const errors = error ? [error] : parsed.errors;
  if (errors.length > 0)
    throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(errors[0].messageText, ' ')}`);
  return {
    ...parsed.options,
    // Every source is an ES module (each package.json has "type": "module"), which a program that
    // reads no package.json cannot see under NodeNext: it would emit CommonJS.
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // File by file, as transpileModule does, but in one program (twice as fast as one per file):
    // nothing is resolved or type-checked.
    isolatedModules: true,
    noResolve: true,
    noLib: true,
    noCheck: true,
    types: [],
    noEmit: false,
    declaration: false,
  };
}

/** scripts/: the entries and every relative import they reach, as paths relative to the unit. */
function followImports(ts, root, unit) {
  const dir = path.join(root, unit.src);
  const found = new Set();
  const queue = [...unit.entries];
  while (queue.length > 0) {
    const name = queue.pop();
    if (found.has(name)) continue;
    found.add(name);
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), fileName));
      if (target.startsWith('../'))
        throw new Error(`${unit.src}/${name} imports ${fileName}, outside ${unit.src}`);
      queue.push(target);
    }
  }
  return [...found].sort();
}

/** The JavaScript of each TypeScript file, by its absolute path; throws on the first syntax error. */
function compileFiles(ts, options, sourceFiles) {
  const program = ts.createProgram(sourceFiles, options);
  const [first] = program.getSyntacticDiagnostics();
  if (first) {
    const where = first.file?.getLineAndCharacterOfPosition(first.start ?? 0);
    const at = where ? `${first.file.fileName}:${where.line + 1}:${where.character + 1}: ` : '';
    throw new Error(`${at}${ts.flattenDiagnosticMessageText(first.messageText, ' ')}`);
  }
  const out = new Map();
  program.emit(undefined, (_name, text, _bom, _onError, sources) => {
    out.set(path.resolve(sources[0].fileName), text);
  });
  return out;
}

/** What building a unit takes: its sources with their hashes, and which of them need new output. */
function planUnit(ts, root, unit, recipe) {
  const dir = path.join(root, unit.src);
  const old = readManifest(root, unit);
  const reuse = old?.recipe === recipe ? old.files : {};
  const files = {};
  const changed = [];
  for (const name of unit.entries ? followImports(ts, root, unit) : walk(dir)) {
    files[name] = sha256(fs.readFileSync(path.join(dir, name)));
    const out = path.join(root, unit.out, outputName(name));
    if (reuse[name] !== files[name] || !fs.existsSync(out)) changed.push(name);
  }
  const gone = Object.keys(old?.files ?? {}).filter((name) => !(name in files));
  return { unit, files, changed, gone };
}

function writeUnit(root, plan, recipe, compiled) {
  const { unit, files, changed, gone } = plan;
  const dir = path.join(root, unit.src);
  const outDir = path.join(root, unit.out);
  for (const name of changed) {
    const source = path.join(dir, name);
    writeAtomic(path.join(outDir, outputName(name)), compiled.get(source) ?? fs.readFileSync(source));
  }
  // A module deleted from the sources must not stay importable from dist.
  for (const name of gone) fs.rmSync(path.join(outDir, outputName(name)), { force: true });
  // Last: until it is written, the next run sees this unit as stale and builds it again.
  writeAtomic(path.join(outDir, MANIFEST), `${JSON.stringify({ recipe, files }, null, 1)}\n`);
}

/**
 * Brings the compiled output of `only` (unit names: workspace folders or "scripts"; default all)
 * up to date with the sources, compiling only what changed. TypeScript is loaded only then.
 */
export async function ensureBuilt({ root = repoRoot, only } = {}) {
  const started = performance.now();
  const recipe = recipeHash(root);
  const units = buildUnits(root).filter((u) => !only || only.includes(u.name));
  if (only) {
    const unknown = only.filter((n) => !units.some((u) => u.name === n));
    if (unknown.length > 0) throw new Error(`nothing to build named ${unknown.join(', ')}`);
  }
  const stale = units
    .map((unit) => ({ unit, why: staleness(root, unit, recipe) }))
    .filter((s) => s.why !== undefined);
  if (stale.length === 0) return { compiled: 0, reasons: [], ms: performance.now() - started };
  const ts = await loadTypeScript();
  const plans = stale.map(({ unit }) => planUnit(ts, root, unit, recipe));
  const typescript = plans.flatMap((p) =>
    p.changed.filter((n) => n.endsWith('.ts')).map((n) => path.join(root, p.unit.src, n)),
  );
  const compiled = compileFiles(ts, compilerOptions(ts, root), typescript);
  for (const plan of plans) writeUnit(root, plan, recipe, compiled);
  return {
    compiled: plans.reduce((n, p) => n + p.changed.length, 0),
    reasons: stale.map((s) => s.why),
    ms: performance.now() - started,
  };
}

if (process.argv[1] === import.meta.filename) {
  const only = process.argv.slice(2);
  try {
    const { compiled, reasons, ms } = await ensureBuilt({ only: only.length > 0 ? only : undefined });
    const what = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
    process.stdout.write(`scopehive build: ${compiled} files compiled in ${Math.round(ms)} ms${what}\n`);
  } catch (err) {
    process.stderr.write(`scopehive build: ${err.message}\n`);
    process.exit(1);
  }
}
