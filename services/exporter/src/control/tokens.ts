/**
 * The control API's two bearer tokens. A token set in the environment is used as it is; an unset one is
 * generated at first start (32 random bytes, base64url) and kept in the token folder, which Grafana
 * mounts read-only to provision its plugin. Either way the file holds the token in force, so Grafana
 * always reads the one the exporter checks. A token never reaches a log line, an error or a response.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ControlConfig } from '@scopehive/shared';
import { StartupError } from '@scopehive/shared';

export interface ControlTokens {
  view: string;
  admin: string;
}

export const TOKEN_FILES = { view: 'view.token', admin: 'admin.token' } as const;
/** Grafana reads the files through its group; nobody else needs them. */
export const TOKEN_MODE = 0o640;
const MAX_TOKEN_BYTES = 1024;
const MIN_TOKEN_LENGTH = 24;

/**
 * Where the tokens and the audit log live: the setting, else `/control` on balena (a named volume
 * shared read-only with Grafana), else `.scopehive-control` beside the data folder. Never inside the
 * data folder: that is the share, and anyone on the lab network writes there.
 */
export function tokenFolder(control: ControlConfig, env: NodeJS.ProcessEnv, dataDir: string): string {
  if (control.tokenDir) return path.resolve(control.tokenDir);
  if (env.BALENA === '1' || env.BALENA_DEVICE_UUID) return '/control';
  return path.join(path.dirname(path.resolve(dataDir)), '.scopehive-control');
}

/** The tokens in force: from the settings, else from the folder, else new ones written there. */
export async function loadTokens(options: {
  dir: string;
  view?: string;
  admin?: string;
  /** Told once per token created, without its value. */
  onGenerated?: (which: keyof ControlTokens, file: string) => void;
}): Promise<ControlTokens> {
  const { dir } = options;
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o750 });
    const stat = await fs.lstat(dir);
    if (!stat.isDirectory()) throw new StartupError(`control token folder ${dir} is not a folder`);
    const view = await ensureToken(dir, 'view', options);
    const admin = await ensureToken(dir, 'admin', options);
    return { view, admin };
  } catch (err) {
    if (err instanceof StartupError) throw err;
    // The message of a file-system error names the path and the errno, never file contents.
    throw new StartupError(`control tokens unavailable in ${dir}: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function ensureToken(
  dir: string,
  which: keyof ControlTokens,
  options: {
    view?: string;
    admin?: string;
    onGenerated?: (which: keyof ControlTokens, file: string) => void;
  },
): Promise<string> {
  const file = path.join(dir, TOKEN_FILES[which]);
  const existing = await readToken(file);
  const wanted = options[which];
  if (wanted !== undefined) {
    if (existing !== wanted) await replaceFile(file, wanted);
    return wanted;
  }
  if (existing !== undefined && isUsableToken(existing)) return existing;
  const fresh = randomBytes(32).toString('base64url');
  // First start: created exclusively, so two exporters starting at once end up with the same token.
  const created = existing === undefined ? await createFile(file, fresh) : await replaceFile(file, fresh);
  if (created) options.onGenerated?.(which, file);
  return (await readToken(file)) ?? fresh;
}

function isUsableToken(token: string): boolean {
  return token.length >= MIN_TOKEN_LENGTH && !/\s/.test(token);
}

/** The token in `file`, undefined when there is none; a link or a non-file is refused, never followed. */
async function readToken(file: string): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new StartupError(`${file} is a symbolic link: refused`);
    }
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_TOKEN_BYTES) {
      throw new StartupError(`${file} is not a token file: remove it and restart`);
    }
    return (await handle.readFile('utf8')).trim();
  } finally {
    await handle.close();
  }
}

/** Writes `token` to a temporary file with its final mode, synced, so the file never shows half a token. */
async function writeTemp(file: string, token: string): Promise<string> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temp, 'wx', TOKEN_MODE);
  try {
    // The umask may have taken bits off the mode given to open.
    await handle.chmod(TOKEN_MODE);
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Creates `file` only if it does not exist (a hard link fails on an existing name); false when it did. */
async function createFile(file: string, token: string): Promise<boolean> {
  const temp = await writeTemp(file, token);
  try {
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function replaceFile(file: string, token: string): Promise<true> {
  const temp = await writeTemp(file, token);
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  return true;
}
