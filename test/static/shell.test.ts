import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findRepoFiles, readRepoFile, requireTool, run } from './helpers.ts';

const scripts = findRepoFiles((name) => name.endsWith('.sh'));

describe('shell scripts', () => {
  it('exist (nfs and grafana entrypoints, the test set-up)', () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        'grafana/entrypoint.sh',
        'nfs/entrypoint.sh',
        'nfs/render-exports.sh',
        'scripts/setup-test-deps.sh',
      ]),
    );
  });

  it.each(scripts)('%s passes shellcheck', (script) => {
    const shellcheck = requireTool('shellcheck', 'shellcheck');
    const r = run(shellcheck, ['--severity=style', script]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('grafana/entrypoint.sh', () => {
  let data: string;
  const kept = () => path.join(data, '.scopehive-admin-password');
  /** The entrypoint with the Grafana volume in a temporary folder (the image sets GF_PATHS_DATA). */
  const start = (env: Record<string, string> = {}) =>
    run('sh', ['grafana/entrypoint.sh'], { env: { PATH: process.env.PATH, GF_PATHS_DATA: data, ...env } });
  // Outside the Grafana image /run.sh does not exist: reaching it is what "starts Grafana" means here.
  const startedGrafana = (r: { status: number | null; stderr: string }) =>
    r.status === 127 && /\/run\.sh/.test(r.stderr);

  beforeEach(() => {
    data = mkdtempSync(path.join(os.tmpdir(), 'scopehive-grafana-'));
  });
  afterEach(() => rmSync(data, { recursive: true, force: true }));

  it('generates a strong admin password on the first start, keeps it (mode 600) and prints it once', () => {
    const first = start();
    expect(startedGrafana(first)).toBe(true);
    const password = readFileSync(kept(), 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(statSync(kept()).mode & 0o777).toBe(0o600);
    expect(first.stderr).toContain(password);
    expect(first.stderr).toContain('Change it in Grafana');
    expect(readdirSync(data)).toEqual(['.scopehive-admin-password']);

    const second = start();
    expect(startedGrafana(second)).toBe(true);
    expect(second.stderr).not.toContain(password);
    expect(second.stderr).not.toContain('generated');
    expect(readFileSync(kept(), 'utf8').trim()).toBe(password);
  });

  it('generates a different password on each new device', () => {
    start();
    const one = readFileSync(kept(), 'utf8');
    rmSync(kept());
    start();
    expect(readFileSync(kept(), 'utf8')).not.toBe(one);
  });

  it('does not generate one for a Grafana that already has its admin (an older installation)', () => {
    writeFileSync(path.join(data, 'grafana.db'), '');
    const r = start();
    expect(startedGrafana(r)).toBe(true);
    expect(r.stderr).toContain('reset-admin-password');
    expect(() => statSync(kept())).toThrow();
  });

  const weak = [
    'admin',
    'short',
    'password',
    '12345678',
    'elevenchars',
    'password1234',
    'Grafana2024!!',
    'changeme-changeme',
    'administrator',
    'passwordpassword',
    'aaaaaaaaaaaaaaaa',
    '123456789012',
    '987654321098',
  ];
  it.each(weak)('refuses %s with one line that does not repeat it', (password) => {
    const r = start({ GF_SECURITY_ADMIN_PASSWORD: password });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('too weak');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // The line is fixed text and a reason: nothing of the password beyond words it shares with them.
    expect(r.stderr).toMatch(
      /^grafana: GF_SECURITY_ADMIN_PASSWORD is too weak \((shorter than 12 characters|one repeated character|a run of digits|a common password)\); choose at least 12 characters that are not a common password, or unset it to have a strong one generated\n$/,
    );
    expect(() => statSync(kept())).toThrow();
  });

  it('refuses a weak password given in a file', () => {
    const file = path.join(data, 'given');
    writeFileSync(file, 'password');
    const r = start({ GF_SECURITY_ADMIN_PASSWORD__FILE: file });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('too weak');
  });

  it('hands over to the image entrypoint with a strong password, generating nothing', () => {
    const r = start({ GF_SECURITY_ADMIN_PASSWORD: 'correct horse battery staple' });
    expect(startedGrafana(r)).toBe(true);
    expect(r.stderr).not.toContain('correct horse');
    expect(() => statSync(kept())).toThrow();
  });
});

describe('scripts/setup-test-deps.sh', () => {
  let dir: string;
  let bin: string;
  const aptLog = () => path.join(dir, 'apt.log');

  /** A stand-in program on the test's PATH, ahead of the real ones. */
  const stub = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };

  /**
   * The script with its tool list (one line, by design) swapped for tools no machine has, so the paths
   * taken when something is missing run for real; apt-get and id are stand-ins that record their calls.
   */
  const runWithMissingTools = () => {
    const script = readRepoFile('scripts/setup-test-deps.sh').replace(
      /^tools=.*$/m,
      'tools="scopehive-fake-a:scopehive-fake-pkg scopehive-fake-b:scopehive-fake-pkg"',
    );
    writeFileSync(path.join(dir, 'setup.sh'), script);
    return run('bash', [path.join(dir, 'setup.sh')], { env: { PATH: `${bin}:${process.env.PATH}` } });
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'scopehive-setup-'));
    bin = path.join(dir, 'bin');
    run('mkdir', [bin]);
    stub('apt-get', `echo "$*" >> ${aptLog()}`);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const aptCalls = () => {
    try {
      return readFileSync(aptLog(), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };

  it('does nothing, silently, when every tool is present', () => {
    const r = run('bash', ['scripts/setup-test-deps.sh'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(aptCalls()).toEqual([]);
  });

  it('as an ordinary user, names the one command to run and fails', () => {
    stub('id', 'echo 1000');
    const r = runWithMissingTools();
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'scopehive: the tests need Debian packages that are not installed; run: sudo apt-get install -y --no-install-recommends scopehive-fake-pkg\n',
    );
    expect(aptCalls()).toEqual([]);
  });

  it('as root, installs each missing package once, quietly, after one apt-get update', () => {
    stub('id', 'echo 0');
    // The stand-in "installs" by putting the programs on the PATH, as the Debian packages would.
    stub(
      'apt-get',
      `echo "$*" >> ${aptLog()}\ncase "$1" in install) for t in a b; do printf '#!/bin/sh\\n' > ${bin}/scopehive-fake-$t; chmod +x ${bin}/scopehive-fake-$t; done;; esac`,
    );
    const r = runWithMissingTools();
    expect(r.stderr).toBe('scopehive: installing what the tests need from Debian: scopehive-fake-pkg\n');
    expect(r.status).toBe(0);
    expect(aptCalls()).toEqual(['update -qq', 'install -y -qq --no-install-recommends scopehive-fake-pkg']);
  });

  it("as root, shows apt-get's output and fails when the install fails", () => {
    stub('id', 'echo 0');
    stub(
      'apt-get',
      `echo "$*" >> ${aptLog()}\n[ "$1" = update ] || { echo "E: Unable to locate package scopehive-fake-pkg"; exit 100; }`,
    );
    const r = runWithMissingTools();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('E: Unable to locate package scopehive-fake-pkg');
    expect(r.stderr).toContain('scopehive: apt-get could not install scopehive-fake-pkg');
  });

  it('is what `npm test` runs first, and what .ci/run relies on', () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toBe('bash scripts/setup-test-deps.sh && bash scripts/setup-plugin-deps.sh');
  });
});
