import { describe, expect, it } from 'vitest';
import { run } from './helpers.ts';

/** Runs nfs/render-exports.sh under the POSIX sh here (dash), with only the given variables set. */
function render(env: Record<string, string> = {}) {
  return run('sh', ['nfs/render-exports.sh'], { env: { PATH: process.env.PATH, ...env } });
}

/** `/data client(options) client(options)` → [client, options[]] pairs. */
function clients(line: string): Array<[string, string[]]> {
  const [, ...entries] = line.trim().split(' ');
  return entries.map((entry) => {
    const m = /^([^()]+)\(([^()]*)\)$/.exec(entry);
    if (!m) throw new Error(`not an export entry: ${entry}`);
    return [m[1], m[2].split(',')];
  });
}

describe('nfs/render-exports.sh', () => {
  it('exports /data to the private IPv4 ranges with root squashed, NFSv4 root, by default', () => {
    const r = render();
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const line = r.stdout.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).not.toContain('*');
    expect(line).not.toContain('no_root_squash');
    expect(line).not.toMatch(/anon[ug]id=0+\b/);
    expect(line.startsWith('/data ')).toBe(true);
    const entries = clients(line);
    expect(entries.map(([c]) => c)).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    for (const [, options] of entries) {
      expect(options).toEqual(['rw', 'sync', 'no_subtree_check', 'root_squash', 'fsid=0']);
    }
  });

  it('takes the lab networks and options from the environment', () => {
    const r = render({
      SCOPEHIVE_NFS_ALLOWED: '192.168.10.0/24, 10.1.2.3 microscope-pc.lab fd00:1::/64',
      SCOPEHIVE_NFS_OPTIONS: 'rw,sync,no_subtree_check,root_squash,insecure',
    });
    expect(r.stderr).toBe('');
    expect(clients(r.stdout).map(([c]) => c)).toEqual([
      '192.168.10.0/24',
      '10.1.2.3',
      'microscope-pc.lab',
      'fd00:1::/64',
    ]);
    expect(clients(r.stdout)[0][1]).toContain('insecure');
  });

  const hostile: Array<[string, Record<string, string>]> = [
    ['a wildcard client', { SCOPEHIVE_NFS_ALLOWED: '*' }],
    ['a wildcard in a host pattern', { SCOPEHIVE_NFS_ALLOWED: '192.168.1.0/24 *.lab' }],
    ['a ? pattern', { SCOPEHIVE_NFS_ALLOWED: 'pc?' }],
    ['the whole IPv4 internet', { SCOPEHIVE_NFS_ALLOWED: '0.0.0.0/0' }],
    ['a network wider than /8', { SCOPEHIVE_NFS_ALLOWED: '10.0.0.0/7' }],
    ['the whole IPv6 internet', { SCOPEHIVE_NFS_ALLOWED: '::/0' }],
    ['a netgroup', { SCOPEHIVE_NFS_ALLOWED: '@lab' }],
    ['options smuggled into a client', { SCOPEHIVE_NFS_ALLOWED: '10.0.0.0/8(rw,no_root_squash)' }],
    ['a second export line', { SCOPEHIVE_NFS_ALLOWED: '10.0.0.0/8\n/ 1.2.3.4(rw)' }],
    ['not an address', { SCOPEHIVE_NFS_ALLOWED: '300.1.2.3' }],
    ['no_root_squash', { SCOPEHIVE_NFS_OPTIONS: 'rw,sync,no_root_squash' }],
    ['anonuid=0', { SCOPEHIVE_NFS_OPTIONS: 'rw,root_squash,anonuid=0' }],
    ['anongid=000', { SCOPEHIVE_NFS_OPTIONS: 'rw,root_squash,anongid=000' }],
    ['a second fsid', { SCOPEHIVE_NFS_OPTIONS: 'rw,fsid=1' }],
    ['shell or exports syntax in options', { SCOPEHIVE_NFS_OPTIONS: 'rw) 1.2.3.4(rw' }],
    ['an empty option', { SCOPEHIVE_NFS_OPTIONS: 'rw,,sync' }],
    ['a relative root', { SCOPEHIVE_NFS_ROOT: 'data' }],
  ];

  it.each(hostile)('refuses %s, naming the variable', (_what, env) => {
    const r = render(env);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`render-exports: ${Object.keys(env)[0]}: `));
  });

  it('does not expand a wildcard into file names of the folder it runs in', () => {
    const r = run('sh', ['render-exports.sh'], {
      cwd: 'nfs',
      env: { PATH: process.env.PATH, SCOPEHIVE_NFS_ALLOWED: '*' },
    });
    expect(r.status).toBe(2);
  });
});
