import { describe, expect, it } from 'vitest';
import { findRepoFiles, requireTool, run } from './helpers.ts';

const scripts = findRepoFiles((name) => name.endsWith('.sh'));

describe('shell scripts', () => {
  it('exist (nfs and grafana entrypoints)', () => {
    expect(scripts).toEqual(
      expect.arrayContaining(['grafana/entrypoint.sh', 'nfs/entrypoint.sh', 'nfs/render-exports.sh']),
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
  const start = (env: Record<string, string>) =>
    run('sh', ['grafana/entrypoint.sh'], { env: { PATH: process.env.PATH, ...env } });

  it('refuses to start Grafana without an admin password', () => {
    const r = start({});
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('GF_SECURITY_ADMIN_PASSWORD is not set');
  });

  it('refuses admin/admin and short passwords', () => {
    for (const password of ['admin', 'short']) {
      const r = start({ GF_SECURITY_ADMIN_PASSWORD: password });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('too weak');
    }
  });

  it('hands over to the image entrypoint once a password is set', () => {
    // Outside the Grafana image /run.sh does not exist: reaching it is what this checks.
    const r = start({ GF_SECURITY_ADMIN_PASSWORD: 'a long enough secret' });
    expect(r.stderr).toMatch(/\/run\.sh/);
    expect(r.status).toBe(127);
  });
});
