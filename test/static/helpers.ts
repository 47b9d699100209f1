import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Composition,
  type ImageDescriptor,
  normalize,
  parse,
} from '@balena/compose/dist/parse/index.js';
import { parse as parseYaml } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readRepoFile(rel: string): string {
  return readFileSync(path.join(repoRoot, rel), 'utf8');
}

export function readYaml<T = unknown>(rel: string): T {
  return parseYaml(readRepoFile(rel)) as T;
}

const skippedDirs = new Set(['node_modules', '.git', 'data', 'dist', '.tmp']);

/** Repository files (relative paths) whose name passes `test`, outside node_modules, .git and data. */
export function findRepoFiles(test: (name: string) => boolean, dir = repoRoot): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skippedDirs.has(entry.name)) out.push(...findRepoFiles(test, path.join(dir, entry.name)));
    } else if (test(entry.name)) {
      out.push(path.relative(repoRoot, path.join(dir, entry.name)));
    }
  }
  return out.sort();
}

/**
 * A tool the static checks run for real. Missing, it fails the test with the package to install:
 * a check that silently does not run proves nothing.
 */
export function requireTool(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} was not found: install it with \`apt-get install ${debianPackage}\` (npm test's pretest step installs it)`,
  );
}

export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  const r = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd ?? repoRoot, env: options.env });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A compose file as balena's own parser reads it (@balena/compose, the library `balena push` and
 * `balena build` use): the compose 2.x schema balena accepts, named volumes declared, no bind mounts
 * but the host paths its feature labels stand for, known depends_on services, label syntax. Throws
 * its ValidationError on anything balena would refuse. The input is copied: balena's normalize edits
 * what it is given.
 */
export function balenaNormalize(compose: unknown): Composition {
  return normalize(structuredClone(compose));
}

/** The images balena would build or pull for a normalized composition, one per service. */
export function balenaImages(composition: Composition): ImageDescriptor[] {
  return parse(composition);
}

export interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comment lines dropped. */
export function instructions(dockerfile: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of dockerfile.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (pending === '' && line === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}
