import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findRepoFiles, readRepoFile, run } from './helpers.ts';

/**
 * npm warns that a project config key it does not know "will stop working in the next major
 * version" (onnxruntime-node-install was one: ONNX Runtime reads the ONNXRUNTIME_NODE_INSTALL
 * environment variable instead). The keys npm knows are the ones `npm config ls -l` lists, asked
 * from an empty folder with an empty user config so that only npm's own definitions answer.
 */
const empty = mkdtempSync(path.join(tmpdir(), 'scopehive-npmrc-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function npmKnownKeys(): Set<string> {
  const userconfig = path.join(empty, 'npmrc');
  writeFileSync(userconfig, '');
  const r = run('npm', ['config', 'ls', '-l', '--json'], {
    cwd: empty,
    env: { PATH: process.env.PATH, HOME: empty, npm_config_userconfig: userconfig },
  });
  expect(r.status, r.stderr).toBe(0);
  return new Set(Object.keys(JSON.parse(r.stdout) as Record<string, unknown>));
}

/** The keys of an .npmrc: `key = value` lines, comments (`#`, `;`) and blank lines skipped. */
function npmrcKeys(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';'))
    .map((line) => line.split('=')[0].trim().replace(/\[\]$/, ''));
}

describe('.npmrc files', () => {
  const known = npmKnownKeys();

  it.each(findRepoFiles((name) => name === '.npmrc'))('%s carries only keys npm knows', (file) => {
    // Per-registry keys (`//host/:_authToken`, `@scope:registry`) are npm's too, by their form.
    const perRegistry = /^(\/\/|@[\w.-]+:registry$)/;
    const unknown = npmrcKeys(readRepoFile(file)).filter((key) => !known.has(key) && !perRegistry.test(key));
    expect(unknown).toEqual([]);
  });

  it('is checked against what npm itself lists', () => {
    expect(known.has('fund')).toBe(true);
    expect(npmrcKeys('# x\nonnxruntime-node-install=skip\n; y\naudit = false\n')).toEqual([
      'onnxruntime-node-install',
      'audit',
    ]);
    expect(known.has('onnxruntime-node-install')).toBe(false);
  });
});
