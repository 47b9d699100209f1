/**
 * Production runs compiled JavaScript (issue 13, item 2): every container command, `npm start` and
 * the scopehive bin run dist/ through `--conditions=scopehive-dist`, never tsx; each package exports
 * dist/ under that condition and src/ otherwise (tsx, vitest, tsc).
 */
import { describe, expect, it } from 'vitest';
import { findRepoFiles, instructions, readRepoFile } from './helpers.ts';

const CONDITION = '--conditions=scopehive-dist';
const workspaces = (JSON.parse(readRepoFile('package.json')) as { workspaces: string[] }).workspaces;
const dockerfiles = findRepoFiles((name) => name === 'Dockerfile' || name.startsWith('Dockerfile.'));

/** The argv of an exec-form CMD or ENTRYPOINT. */
const execForm = (args: string): string[] => JSON.parse(args) as string[];

describe('compiled JavaScript in production', () => {
  it.each(dockerfiles)('%s: a node command runs dist/ JavaScript with the condition, never tsx', (file) => {
    for (const { keyword, args } of instructions(readRepoFile(file))) {
      if (keyword !== 'CMD' && keyword !== 'ENTRYPOINT') continue;
      expect(args, `${file}: ${keyword} ${args}`).not.toMatch(/tsx|\.ts\b/);
      if (!/\bnode\b/.test(args)) continue;
      const argv = execForm(args);
      expect(argv.slice(0, 2), `${file}: ${keyword} ${args}`).toEqual(['node', CONDITION]);
      expect(argv[2]).toMatch(/^services\/[a-z]+\/dist\/[\w/-]+\.js$/);
    }
  });

  it.each(['ingest', 'inference', 'exporter'])(
    '%s image: compiled in its own stage with the locked TypeScript, the final stage takes dist/',
    (name) => {
      const steps = instructions(readRepoFile(`services/${name}/Dockerfile.template`));
      const lock = JSON.parse(readRepoFile('package-lock.json')) as {
        packages: Record<string, { version: string }>;
      };
      const typescript = lock.packages['node_modules/typescript'].version;
      const runs = steps.filter((s) => s.keyword === 'RUN').map((s) => s.args);
      expect(runs.some((r) => r.includes('npm install --no-save --ignore-scripts'))).toBe(true);
      expect(runs.some((r) => r.includes(`typescript@${typescript} `))).toBe(true);
      expect(runs).toContain(`node scripts/build.mjs shared services/${name}`);
      const copies = steps.filter((s) => s.keyword === 'COPY').map((s) => s.args);
      expect(copies).toContain('--from=compile /app/shared/dist shared/dist');
      expect(copies).toContain(`--from=compile /app/services/${name}/dist services/${name}/dist`);
    },
  );

  it.each(workspaces)('%s exports dist/ under the condition and src/ otherwise', (workspace) => {
    const pkg = JSON.parse(readRepoFile(`${workspace}/package.json`)) as { exports: unknown };
    const entries = Object.entries(pkg.exports as Record<string, object>);
    expect(entries.map(([subpath]) => subpath)).toContain('.');
    // Every entry (`.`, and subpaths such as `./hive`): the same module compiled and as source.
    for (const [subpath, targets] of entries) {
      const module = subpath === '.' ? 'index' : `${subpath.slice(2)}/index`;
      // Key order matters: node takes the first condition that matches.
      expect(Object.entries(targets), `${workspace} ${subpath}`).toEqual([
        ['scopehive-dist', `./dist/${module}.js`],
        ['default', `./src/${module}.ts`],
      ]);
    }
  });

  it('npm start, the analyze script, the bin and every workspace start run the compiled code', () => {
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.prepare).toBe('node scripts/build.mjs');
    expect(scripts.start).toBe(`node ${CONDITION} scripts/run-built.mjs scripts/start.ts`);
    expect(scripts.analyze).toMatch(
      new RegExp(`^node ${CONDITION} scripts/run-built.mjs services/inference/src/cli/main.ts `),
    );
    for (const workspace of workspaces) {
      const own = (JSON.parse(readRepoFile(`${workspace}/package.json`)) as { scripts?: { start?: string } })
        .scripts?.start;
      if (own) expect(own).toBe(`node ${CONDITION} ../../scripts/run-built.mjs src/main.ts`);
    }
    const bin = readRepoFile('services/inference/bin/scopehive.js');
    expect(bin.split('\n')[0]).toBe(`#!/usr/bin/env -S node ${CONDITION}`);
    expect(bin).not.toMatch(/tsx/);
  });
});
