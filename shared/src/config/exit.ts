import { ConfigError, StartupError } from './errors.ts';

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
