import { ConfigError, StartupError } from './errors.ts';
import { loadConfig } from './load.ts';
import type { Config, SectionName } from './sections.ts';

/**
 * `loadConfig` for a service's `main`: every bad value is printed as `scopehive: <line>` on stderr and
 * the process exits with code 1. The warnings (unknown variables) are returned for the service's logger.
 */
export function configOrExit<const N extends SectionName>(
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
): { config: Config<N>; warnings: string[] } {
  try {
    return loadConfig(names, env);
  } catch (err) {
    return exitOnStartupError(err);
  }
}

/**
 * For a main's top-level `catch`: a ConfigError or StartupError (the user's to fix) becomes its lines on
 * stderr and exit code 1; anything else is a bug and is thrown on, so its stack is printed.
 */
export function exitOnStartupError(err: unknown): never {
  if (err instanceof ConfigError) {
    for (const line of err.problems) process.stderr.write(`scopehive: ${line}\n`);
    process.exit(1);
  }
  if (err instanceof StartupError) {
    process.stderr.write(`scopehive: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
