import fs from 'node:fs/promises';
import { ConfigError } from './config.ts';
import { loadSettings, type Settings } from './settings.ts';

/** Settings for a service's `main`: a bad value prints one line naming the variable and exits with code 1. */
export function settingsOrExit(env: NodeJS.ProcessEnv = process.env): Settings {
  try {
    return loadSettings(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`scopehive: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Creates the data folders; a folder that cannot be created is a one-line fatal error. */
export async function ensureFolders(folders: Record<string, string>): Promise<void> {
  for (const [name, dir] of Object.entries(folders)) {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw new Error(
        `cannot create the ${name} folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  }
}

/** Runs `close` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    close()
      .catch((err) => process.stderr.write(`scopehive: error while stopping after ${signal}: ${err}\n`))
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}
