import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNetworkFileSystem, mountTypeOf, shouldPoll } from '../src/fs/mounts.ts';

const MOUNTS = [
  'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
  '/dev/sda1 / ext4 rw,relatime 0 0',
  '10.0.0.5:/export /mnt/share nfs4 rw,relatime,vers=4.2,rsize=1048576 0 0',
  '/dev/sdb1 /mnt/share/local ext4 rw,relatime 0 0',
  '//nas/lab /mnt/My\\040Scans cifs rw,relatime,vers=3.1.1 0 0',
  'tmpfs /mnt/share2 tmpfs rw,nosuid 0 0',
  '',
].join('\n');

describe('mountTypeOf', () => {
  it('finds the network mount holding a folder inside it, and the mount point itself', () => {
    expect(mountTypeOf(MOUNTS, '/mnt/share/inbox/run1')).toBe('nfs4');
    expect(mountTypeOf(MOUNTS, '/mnt/share')).toBe('nfs4');
  });

  it('takes the longest mount point: a local disk mounted inside the share is local', () => {
    expect(mountTypeOf(MOUNTS, '/mnt/share/local')).toBe('ext4');
    expect(mountTypeOf(MOUNTS, '/mnt/share/local/inbox')).toBe('ext4');
  });

  it('matches whole path components only', () => {
    expect(mountTypeOf(MOUNTS, '/mnt/share2/inbox')).toBe('tmpfs');
    expect(mountTypeOf(MOUNTS, '/mnt/shared/inbox')).toBe('ext4');
  });

  it('decodes octal escapes in mount points (\\040 is a space)', () => {
    expect(mountTypeOf(MOUNTS, '/mnt/My Scans/session 3')).toBe('cifs');
    expect(mountTypeOf(MOUNTS, '/mnt/My\\040Scans')).toBe('ext4');
  });

  it('falls back to the root file system, and to nothing without mounts', () => {
    expect(mountTypeOf(MOUNTS, '/home/lab/inbox')).toBe('ext4');
    expect(mountTypeOf(MOUNTS, '/')).toBe('ext4');
    expect(mountTypeOf('', '/data/inbox')).toBeUndefined();
  });
});

describe('isNetworkFileSystem', () => {
  it('knows NFS, SMB and FUSE network file systems from local ones', () => {
    expect(['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', '9p', 'ceph'].map(isNetworkFileSystem)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['ext4', 'xfs', 'tmpfs', 'overlay', undefined].map(isNetworkFileSystem)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('shouldPoll', () => {
  let dir: string;
  let mountsFile: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-mounts-'));
    mountsFile = path.join(dir, 'mounts');
    await fs.writeFile(mountsFile, MOUNTS);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('auto: polls a folder on NFS or SMB, not one on a local disk', () => {
    expect(shouldPoll('auto', '/mnt/share/inbox', mountsFile)).toBe(true);
    expect(shouldPoll('auto', '/mnt/My Scans', mountsFile)).toBe(true);
    expect(shouldPoll('auto', '/mnt/share/local/inbox', mountsFile)).toBe(false);
    expect(shouldPoll('auto', '/data/inbox', mountsFile)).toBe(false);
  });

  it('auto: resolves a relative folder against the working directory', async () => {
    const cwdOnNfs = path.join(dir, 'cwd-on-nfs');
    await fs.writeFile(cwdOnNfs, `${MOUNTS}server:/x ${process.cwd()} nfs rw 0 0\n`);
    expect(shouldPoll('auto', 'data/inbox', cwdOnNfs)).toBe(true);
    expect(shouldPoll('auto', 'data/inbox', mountsFile)).toBe(false);
  });

  it('auto: does not poll when the mounts file cannot be read', () => {
    expect(shouldPoll('auto', '/mnt/share/inbox', path.join(dir, 'missing'))).toBe(false);
  });

  it('true and false force the choice whatever the file system', () => {
    expect(shouldPoll('true', '/data/inbox', mountsFile)).toBe(true);
    expect(shouldPoll('false', '/mnt/share/inbox', mountsFile)).toBe(false);
    expect(shouldPoll('true', '/mnt/share/inbox', path.join(dir, 'missing'))).toBe(true);
  });
});
