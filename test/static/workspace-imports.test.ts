import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoRoot } from './helpers.ts';

/**
 * Each workspace declares, in its own package.json `dependencies`, every package its running code
 * imports (src/ and bin/): an image installs one workspace (`npm ci --workspace …`), and an import
 * that only works because npm hoisted another workspace's dependency breaks the day that one drops it.
 */
interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

/** Packages a workspace needs without importing them: tsx runs the TypeScript (`node --import tsx`). */
const usedWithoutImport = new Set(['tsx']);

/**
 * Packages loaded only when installed, never in the images: development dependencies of the
 * repository (pino-pretty: readable logs on a terminal, shared/src/log.ts).
 */
const loadedWhenInstalled = new Set(['pino-pretty']);

const rootManifest = JSON.parse(readRepoFile('package.json')) as {
  workspaces: string[];
  devDependencies: Record<string, string>;
};

const workspaces = rootManifest.workspaces;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The package a bare specifier names (`@scope/name/deep` → `@scope/name`); undefined if not bare. */
function packageOf(specifier: string): string | undefined {
  if (/^[./]/.test(specifier) || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every package a workspace's running code imports (static, dynamic and type imports, re-exports). */
function importedPackages(workspace: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const folder of ['src', 'bin']) {
    for (const file of sourceFiles(path.join(repoRoot, workspace, folder))) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        const name = packageOf(fileName);
        if (name && !found.has(name)) found.set(name, path.relative(repoRoot, file));
      }
    }
  }
  return found;
}

describe.each(workspaces)('%s', (workspace) => {
  const manifest = JSON.parse(readRepoFile(path.join(workspace, 'package.json'))) as Manifest;
  const declared = Object.keys(manifest.dependencies ?? {});
  const imported = importedPackages(workspace);

  it('declares every package it imports', () => {
    const undeclared = [...imported]
      .filter(([name]) => !declared.includes(name) && !loadedWhenInstalled.has(name))
      .map(([name, file]) => `${name} (${file})`);
    expect(undeclared).toEqual([]);
  });

  it('imports every package it declares', () => {
    const unused = declared.filter((name) => !imported.has(name) && !usedWithoutImport.has(name));
    expect(unused).toEqual([]);
  });
});

describe('packages loaded only when installed', () => {
  it('are development dependencies of the repository, so the images never carry them', () => {
    for (const name of loadedWhenInstalled) expect(rootManifest.devDependencies).toHaveProperty(name);
  });
});

describe('the import scan', () => {
  it('names the package of each kind of specifier', () => {
    expect(packageOf('yaml')).toBe('yaml');
    expect(packageOf('@nats-io/jetstream')).toBe('@nats-io/jetstream');
    expect(packageOf('tsx/esm/api')).toBe('tsx');
    expect(packageOf('@scope/name/deep/file.js')).toBe('@scope/name');
    expect(packageOf('./local.ts')).toBeUndefined();
    expect(packageOf('node:fs')).toBeUndefined();
    expect(packageOf('fs')).toBeUndefined();
  });

  it('sees static, type-only, dynamic and re-exported imports', () => {
    const source = [
      "import a from 'one';",
      "import type { B } from 'two';",
      "export { c } from 'three';",
      "const d = await import('four');",
    ].join('\n');
    const names = ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
    expect(names).toEqual(['one', 'two', 'three', 'four']);
  });
});
