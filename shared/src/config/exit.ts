import { ConfigError, StartupError } from './errors.ts';

/**
 * The lines to show for a problem the user can fix by changing a setting or the machine (a
 * ConfigError or StartupError); undefined for anything else, which is a bug and keeps its stack.
 */
export function startupProblem(err: unknown): readonly string[] | undefined {
  if (err instanceof ConfigError) return err.problems;
  if (err instanceof StartupError) return [err.message];
  return undefined;
}

/**
 * For a main's top-level `catch`: a ConfigError or StartupError becomes its line(s) on stderr, as
 * `scopehive: <line>`, and exit code 1; anything else is thrown on, so its stack is printed.
 */
export function exitOnStartupError(err: unknown): never {
  const lines = startupProblem(err);
  if (!lines) throw err;
  for (const line of lines) process.stderr.write(`scopehive: ${line}\n`);
  process.exit(1);
}
