import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTokens, TOKEN_FILES, tokenFolder } from '../../src/control/tokens.ts';

let root: string;
let dir: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-tokens-'));
  dir = path.join(root, 'control');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;
const fileToken = async (which: keyof typeof TOKEN_FILES) =>
  (await fs.readFile(path.join(dir, TOKEN_FILES[which]), 'utf8')).trim();

describe('control tokens', () => {
  it('are generated at first start (strong, distinct, mode 0640) and read back on later starts', async () => {
    const generated: string[] = [];
    const first = await loadTokens({ dir, onGenerated: (which) => generated.push(which) });
    expect(generated).toEqual(['view', 'admin']);
    expect(first.view).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.admin).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.view).not.toBe(first.admin);
    expect(await fileToken('view')).toBe(first.view);
    expect(await fileToken('admin')).toBe(first.admin);
    expect(await mode(path.join(dir, 'view.token'))).toBe(0o640);
    expect(await mode(path.join(dir, 'admin.token'))).toBe(0o640);

    generated.length = 0;
    const again = await loadTokens({ dir, onGenerated: (which) => generated.push(which) });
    expect(again).toEqual(first);
    expect(generated).toEqual([]);
    // No temporary file is left behind.
    expect((await fs.readdir(dir)).sort()).toEqual(['admin.token', 'view.token']);
  });

  it('two exporters starting at once end up with the same tokens', async () => {
    const [a, b] = await Promise.all([loadTokens({ dir }), loadTokens({ dir })]);
    expect(a).toEqual(b);
    expect(await fileToken('admin')).toBe(a.admin);
  });

  it('a token from the settings wins and is written to the file Grafana reads', async () => {
    const generated = await loadTokens({ dir });
    const admin = 'an-admin-token-set-in-balena-0123456789';
    const tokens = await loadTokens({ dir, admin });
    expect(tokens).toEqual({ view: generated.view, admin });
    expect(await fileToken('admin')).toBe(admin);
    expect(await mode(path.join(dir, 'admin.token'))).toBe(0o640);
  });

  it('a damaged token file is replaced by a new token', async () => {
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'view.token'), 'short\n');
    const tokens = await loadTokens({ dir });
    expect(tokens.view).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await fileToken('view')).toBe(tokens.view);
  });

  it('a token file that is a symbolic link is refused, never followed', async () => {
    await fs.mkdir(dir);
    const elsewhere = path.join(root, 'elsewhere.txt');
    await fs.writeFile(elsewhere, 'x'.repeat(40));
    await fs.symlink(elsewhere, path.join(dir, 'view.token'));
    await expect(loadTokens({ dir })).rejects.toThrow(/view\.token is a symbolic link: refused/);
    expect(await fs.readFile(elsewhere, 'utf8')).toBe('x'.repeat(40));
  });

  it('live in /control on balena and beside (never inside) the data folder elsewhere', () => {
    const control = { viewToken: undefined, adminToken: undefined, tokenDir: undefined, inferenceUrl: '' };
    expect(tokenFolder(control, { BALENA: '1' }, '/data')).toBe('/control');
    expect(tokenFolder(control, {}, '/srv/scope/data')).toBe('/srv/scope/.scopehive-control');
    expect(tokenFolder({ ...control, tokenDir: '/x/y' }, { BALENA: '1' }, '/data')).toBe('/x/y');
  });
});
