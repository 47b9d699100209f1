/**
 * Runs the compiled JavaScript of a TypeScript entry point, after bringing the build up to date
 * (scripts/build.mjs: a hash of every source, ~10 ms when nothing changed; only changed files are
 * compiled), so an edited source never runs stale:
 *
 *   node --conditions=scopehive-dist scripts/run-built.mjs scripts/start.ts [args…]   (npm start)
 *
 * `--conditions=scopehive-dist` makes `@scopehive/*` resolve to the packages' dist/ (their
 * package.json "exports"); without it they resolve to src/, which tsx and vitest run.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiledPath, ensureBuilt } from './build.mjs';

/**
 * Imports the compiled file of each entry (a source file path or file: URL) in turn, after one
 * build check. Several entries let a program start slow work (a thread loading ONNX Runtime) from a
 * small first module before the large graph of the second is loaded: a module is evaluated only
 * once its whole static import graph has been read.
 */
export async function runBuilt(...entries) {
  let compiled;
  try {
    compiled = await builtFilesOf(entries);
  } catch (err) {
    // The build's own failures (a syntax error, no TypeScript, a missing flag): one line, no stack.
    process.stderr.write(`scopehive: ${err.message}\n`);
    process.exit(1);
  }
  for (const file of compiled) await import(pathToFileURL(file).href);
}

async function builtFilesOf(entries) {
  const resolved = import.meta.resolve('@scopehive/shared');
  if (!resolved.includes('/shared/dist/')) {
    throw new Error(
      `compiled code runs with node --conditions=scopehive-dist (@scopehive/shared resolved to ${resolved})`,
    );
  }
  const { compiled, reasons } = await ensureBuilt();
  // Said on a terminal only: the output of scripts and tests stays the program's own.
  if (compiled > 0 && process.stderr.isTTY) {
    process.stderr.write(`scopehive: compiled ${compiled} changed files (${reasons[0]})\n`);
  }
  return entries.map((entry) =>
    compiledPath(entry instanceof URL ? fileURLToPath(entry) : path.resolve(entry)),
  );
}

if (process.argv[1] === import.meta.filename) {
  const [node, , entry, ...args] = process.argv;
  if (!entry) {
    process.stderr.write(
      'usage: node --conditions=scopehive-dist scripts/run-built.mjs <entry.ts> [args…]\n',
    );
    process.exit(2);
  }
  // The entry sees its own arguments, as if it had been run directly.
  process.argv = [node, path.resolve(entry), ...args];
  await runBuilt(entry);
}
