/**
 * A compiled build that no longer matches its sources never runs: scripts/run-built.mjs (npm start,
 * the scopehive bin) compiles what changed first. Shown on a small copy of the layout (a workspace
 * and scripts/start.ts, with the repository's build files), so nothing in the repository changes.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);
let root: string;

async function write(rel: string, text: string) {
  await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await fs.writeFile(path.join(root, rel), text);
}

/** `node <args>` in the copy: exit code, stdout and stderr. */
async function node(...args: string[]) {
  return exec(process.execPath, args, { cwd: root }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

/** What npm start does: the compiled entry, after the build is brought up to date. */
const start = () => node('--conditions=scopehive-dist', 'scripts/run-built.mjs', 'scripts/start.ts');

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-build-'));
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/run-built.mjs'])
    await write(file, await fs.readFile(path.join(repo, file), 'utf8'));
  // TypeScript, and the real packages for run-built's check that their dist/ is what resolves.
  await fs.symlink(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
  await write('package.json', JSON.stringify({ type: 'module', workspaces: ['pkg'] }));
  await write('pkg/src/main.ts', "import { word } from './word.ts';\nconsole.log(word satisfies string);\n");
  await write('pkg/src/word.ts', "export const word: string = 'one';\n");
  await write('pkg/src/old.ts', 'export const old = 1;\n');
  await write('scripts/start.ts', "import { line } from './line.ts';\nconsole.log(line());\n");
  await write('scripts/line.ts', "export const line = (): string => 'v1';\n");
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('a stale build is compiled again before it runs', () => {
  it('builds every workspace and the start script, then runs them as plain JavaScript', async () => {
    const built = await node('scripts/build.mjs');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/^scopehive build: 5 files compiled in \d+ ms/);
    expect((await node('pkg/dist/main.js')).stdout).toBe('one\n');
    expect((await node('scripts/dist/start.js')).stdout).toBe('v1\n');
    expect((await node('scripts/build.mjs')).stdout).toMatch(/^scopehive build: 0 files compiled/);
  });

  it('runs an edited source, even one whose modification time was put back', async () => {
    const file = path.join(root, 'scripts/line.ts');
    const before = await fs.stat(file);
    await fs.writeFile(file, "export const line = (): string => 'v2';\n");
    await fs.utimes(file, before.atime, before.mtime);
    expect((await start()).stdout).toBe('v2\n');
  });

  it('follows a new import of the start script', async () => {
    await write('scripts/added.ts', "export const added = (): string => 'added';\n");
    await write('scripts/start.ts', "import { added } from './added.ts';\nconsole.log(added());\n");
    expect((await start()).stdout).toBe('added\n');
  });

  it('removes the output of a deleted module', async () => {
    await fs.rm(path.join(root, 'pkg/src/old.ts'));
    await fs.access(path.join(root, 'pkg/dist/old.js'));
    expect((await start()).code).toBe(0);
    await expect(fs.access(path.join(root, 'pkg/dist/old.js'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses to run on a syntax error, with one line naming the place, every time', async () => {
    await write('pkg/src/word.ts', "export const word: string = 'one'\nexport const = ;\n");
    for (let i = 0; i < 2; i++) {
      const r = await start();
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^scopehive: \S+\/pkg\/src\/word\.ts:2:14: .+\n$/);
    }
    const built = await node('scripts/build.mjs');
    expect(built.code).toBe(1);
    expect(built.stderr).toMatch(/^scopehive build: \S+\/pkg\/src\/word\.ts:2:14: /);
  });

  it('without the condition, says how to run it instead of running the sources', async () => {
    const r = await node('scripts/run-built.mjs', 'scripts/start.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^scopehive: compiled code runs with node --conditions=scopehive-dist .*\n$/);
  });
});
