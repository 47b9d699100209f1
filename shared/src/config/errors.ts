/**
 * The two errors a main turns into `scopehive: <line>` and exit code 1 instead of a stack trace: the
 * user can fix them by changing a setting or the machine, so a stack would only hide the line that matters.
 */

/** One or more invalid settings; `problems` has one line per bad variable, the message joins them. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const lines = typeof problems === 'string' ? [problems] : problems;
    super(lines.join('\n'));
    this.problems = lines;
  }
}

/** Start-up failed for a reason outside the program (a port taken, a host that does not resolve): one line. */
export class StartupError extends Error {
  override name = 'StartupError';
}
