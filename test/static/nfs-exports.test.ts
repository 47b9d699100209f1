import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './helpers.ts';

/**
 * Runs nfs/render-exports.sh under the POSIX sh here (dash), with only the given variables set;
 * `volume` is the data volume's mount point the entrypoint would pass (default /data).
 */
function render(env: Record<string, string> = {}, volume?: string) {
  return run('sh', ['nfs/render-exports.sh', ...(volume ? [volume] : [])], {
    env: { PATH: process.env.PATH, ...env },
  });
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
      SCOPEHIVE_NFS_OPTIONS: 'rw,sync,no_subtree_check,root_squash,secure',
    });
    expect(r.stderr).toBe('');
    expect(clients(r.stdout).map(([c]) => c)).toEqual([
      '192.168.10.0/24',
      '10.1.2.3',
      'microscope-pc.lab',
      'fd00:1::/64',
    ]);
    expect(clients(r.stdout)[0][1]).toContain('secure');
  });

  it('takes public networks as single hosts or a /24 and narrower, IPv6 ones as a /64 and narrower', () => {
    const r = render({ SCOPEHIVE_NFS_ALLOWED: '141.2.3.0/24 141.2.4.128/25 141.2.5.7 2001:db8:1:2::/64' });
    expect(r.stderr).toBe('');
    expect(clients(r.stdout).map(([c]) => c)).toEqual([
      '141.2.3.0/24',
      '141.2.4.128/25',
      '141.2.5.7',
      '2001:db8:1:2::/64',
    ]);
  });

  it('squashes root even when the options leave root_squash out', () => {
    const r = render({ SCOPEHIVE_NFS_OPTIONS: 'rw,sync' });
    expect(r.stderr).toBe('');
    for (const [, options] of clients(r.stdout))
      expect(options).toEqual(['rw', 'sync', 'root_squash', 'fsid=0']);
    const squashAll = render({ SCOPEHIVE_NFS_OPTIONS: 'ro,all_squash' });
    expect(clients(squashAll.stdout)[0][1]).toEqual(['ro', 'all_squash', 'fsid=0']);
  });

  it('exports the data volume or a folder inside it', () => {
    for (const root of ['/data', '/data/', '/data/lab-a', '/data/lab-a/scope-2']) {
      const r = render({ SCOPEHIVE_NFS_ROOT: root });
      expect(r.stderr, root).toBe('');
      expect(r.stdout.split(' ')[0], root).toBe(root === '/data/' ? '/data' : root);
    }
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
    ["the container's whole file system", { SCOPEHIVE_NFS_ROOT: '/' }],
    ['a folder beside the data volume', { SCOPEHIVE_NFS_ROOT: '/etc' }],
    ['a name that only starts like the volume', { SCOPEHIVE_NFS_ROOT: '/data-other' }],
    ['.. out of the volume', { SCOPEHIVE_NFS_ROOT: '/data/../etc' }],
    ['a . part', { SCOPEHIVE_NFS_ROOT: '/data/./inbox' }],
    ['an empty part', { SCOPEHIVE_NFS_ROOT: '/data//inbox' }],
    ['insecure', { SCOPEHIVE_NFS_OPTIONS: 'rw,sync,root_squash,insecure' }],
    ['a public /8', { SCOPEHIVE_NFS_ALLOWED: '8.0.0.0/8' }],
    ['a public /16', { SCOPEHIVE_NFS_ALLOWED: '141.2.0.0/16' }],
    ['a public /23', { SCOPEHIVE_NFS_ALLOWED: '141.2.2.0/23' }],
    ['a /8 over 172.16/12 and public space', { SCOPEHIVE_NFS_ALLOWED: '172.0.0.0/8' }],
    ['a /11 wider than 172.16/12', { SCOPEHIVE_NFS_ALLOWED: '172.16.0.0/11' }],
    ['a /15 wider than 192.168/16', { SCOPEHIVE_NFS_ALLOWED: '192.168.0.0/15' }],
    ['a public IPv6 /48', { SCOPEHIVE_NFS_ALLOWED: '2001:db8:1::/48' }],
  ];

  it.each(hostile)('refuses %s, naming the variable', (_what, env) => {
    const r = render(env);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`render-exports: ${Object.keys(env)[0]}: `));
  });

  describe('with a symbolic link in the data volume', () => {
    const volume = mkdtempSync(path.join(os.tmpdir(), 'scopehive-nfs-volume-'));
    mkdirSync(path.join(volume, 'lab'));
    symlinkSync('/', path.join(volume, 'escape'));
    symlinkSync(path.join(volume, 'lab'), path.join(volume, 'lab-link'));
    afterAll(() => rmSync(volume, { recursive: true, force: true }));

    it('exports a real folder of the volume', () => {
      const r = render({ SCOPEHIVE_NFS_ROOT: `${volume}/lab/new` }, volume);
      expect(r.stderr).toBe('');
      expect(r.stdout.split(' ')[0]).toBe(`${volume}/lab/new`);
    });

    it.each(['escape', 'escape/etc', 'lab-link', 'lab-link/sub'])('refuses a root through %s', (rel) => {
      const r = render({ SCOPEHIVE_NFS_ROOT: `${volume}/${rel}` }, volume);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^render-exports: SCOPEHIVE_NFS_ROOT: .* is a symbolic link; /);
    });
  });

  it('does not expand a wildcard into file names of the folder it runs in', () => {
    const r = run('sh', ['render-exports.sh'], {
      cwd: 'nfs',
      env: { PATH: process.env.PATH, SCOPEHIVE_NFS_ALLOWED: '*' },
    });
    expect(r.status).toBe(2);
  });
});
