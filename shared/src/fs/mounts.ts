import { readFileSync } from 'node:fs';
import path from 'node:path';

/** File systems whose writes by other clients raise no inotify events here: watch them by polling. */
const NETWORK_FS = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'smbfs',
  'fuse.sshfs',
  '9p',
  'fuse.glusterfs',
  'ceph',
]);

/** The file-system type of the mount holding `dir`, from /proc/mounts text (the longest mount point prefix). */
export function mountTypeOf(mountsText: string, dir: string): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of mountsText.split('\n')) {
    const [, rawPoint, type] = line.split(' ');
    if (!rawPoint || !type) continue;
    // /proc/mounts escapes spaces and other bytes as octal (\040).
    const point = rawPoint.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)));
    const inside = dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (!best || point.length > best.point.length)) best = { point, type };
  }
  return best?.type;
}

export function isNetworkFileSystem(type: string | undefined): boolean {
  return type !== undefined && NETWORK_FS.has(type);
}

/** `auto` polls when the folder is on a network file system; `true`/`false` force it. */
export function shouldPoll(
  setting: 'auto' | 'true' | 'false',
  dir: string,
  mountsFile = '/proc/mounts',
): boolean {
  if (setting !== 'auto') return setting === 'true';
  try {
    return isNetworkFileSystem(mountTypeOf(readFileSync(mountsFile, 'utf8'), path.resolve(dir)));
  } catch {
    return false;
  }
}
