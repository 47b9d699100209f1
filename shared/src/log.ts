import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/** `json`: one object per line, for whatever collects logs. `pretty`: readable lines for a person. */
export type LogFormat = 'json' | 'pretty';

/**
 * Readable lines only for a person at a terminal (`npm start` in a shell); JSON everywhere else: a
 * pipe or a file (`npm start | jq`, `> log`), a container's log driver (balena gives no TTY), CI.
 * pino-pretty is a development dependency, absent from the production images: without it, JSON.
 */
export function chooseLogFormat(stdout: { isTTY?: boolean }, prettyInstalled: () => boolean): LogFormat {
  return stdout.isTTY === true && prettyInstalled() ? 'pretty' : 'json';
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

const require = createRequire(import.meta.url);
let pretty: PrettyFactory | null | undefined;

/** pino-pretty when installed (a development checkout), loaded once and only when asked for. */
function prettyFactory(): PrettyFactory | null {
  if (pretty === undefined) {
    try {
      pretty = require('pino-pretty') as PrettyFactory;
    } catch {
      pretty = null;
    }
  }
  return pretty;
}

/**
 * Logs on stdout; `service` names the emitting part. The format follows chooseLogFormat unless
 * `options.format` fixes it (pretty falls back to JSON when pino-pretty is not installed).
 */
export function createLogger(service: string, level = 'info', options: { format?: LogFormat } = {}): Logger {
  const settings: LoggerOptions = { name: 'scopehive', level, base: { service } };
  const format = options.format ?? chooseLogFormat(process.stdout, () => prettyFactory() !== null);
  const factory = format === 'pretty' ? prettyFactory() : null;
  if (!factory) return pino(settings);
  // Synchronous writes: a line logged just before the process exits still reaches the terminal.
  const stream = factory({
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,service',
    messageFormat: '{service}: {msg}',
  });
  return pino(settings, stream);
}
