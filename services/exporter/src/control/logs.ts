/**
 * `GET /api/v1/logs`: journal lines from the supervisor, as a list or (follow=1) as a stream of
 * server-sent events that ends when the reader goes away.
 */
import type { Response } from 'express';
import { parseJournalLine } from '../supervisor/journal.ts';
import type { SupervisorClient } from '../supervisor/types.ts';

export interface LogLine {
  service?: string;
  time?: string;
  message: string;
}

export const MAX_LINES = 5000;
export const DEFAULT_LINES = 200;
/** A line longer than this is cut: 5000 lines of it stay a few megabytes. */
const MAX_MESSAGE = 4096;
const KEEP_ALIVE_MS = 15_000;

/** `lines` as asked (a whole number, clamped to 1..5000), or undefined when it is not a number. */
export function linesWanted(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return DEFAULT_LINES;
  if (typeof raw !== 'string' || !/^\s*-?\d+\s*$/.test(raw)) return undefined;
  return Math.min(MAX_LINES, Math.max(1, Number(raw)));
}

/**
 * One journal line as the API gives it. A container's lines carry its short id as identifier: named by
 * the service that runs it (`services`: short id → service name), else by the identifier (a unit such
 * as balena-supervisor). A line in another shape is kept whole as the message.
 */
export function toLogLine(line: string, services: ReadonlyMap<string, string>): LogLine {
  const { time, identifier, message } = parseJournalLine(line);
  const out: LogLine = {
    message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
  };
  const service = identifier === undefined ? undefined : (services.get(identifier) ?? identifier);
  if (service !== undefined) out.service = service;
  if (time !== undefined) out.time = time;
  return out;
}

/** The last `lines` lines, read to the end of what the supervisor sends. */
export async function readLogs(
  supervisor: SupervisorClient,
  query: { service?: string; lines: number },
  services: ReadonlyMap<string, string>,
  closed: AbortSignal,
): Promise<LogLine[]> {
  const reading = new AbortController();
  const stop = () => reading.abort();
  closed.addEventListener('abort', stop, { once: true });
  try {
    const stream = await supervisor.journalLogs({ ...query, follow: false }, reading.signal);
    const out: LogLine[] = [];
    for await (const line of stream) {
      out.push(toLogLine(line, services));
      // Keep the newest when the supervisor sends more than asked.
      if (out.length > query.lines) out.shift();
    }
    return out;
  } finally {
    closed.removeEventListener('abort', stop);
    reading.abort();
  }
}

/**
 * Streams new lines as `data: {json}` events until the reader closes the connection (which aborts
 * `closed`) or the supervisor ends the stream. Errors before the first byte are thrown, so the caller
 * answers them with a status; a failure mid-stream becomes one `event: error` and the end.
 */
export async function followLogs(
  supervisor: SupervisorClient,
  query: { service?: string; lines: number },
  services: ReadonlyMap<string, string>,
  res: Response,
  closed: AbortSignal,
  /** The one line an error is told as (secrets scrubbed). */
  describe: (err: unknown) => string,
): Promise<void> {
  const stream = await supervisor.journalLogs({ ...query, follow: true }, closed);
  res.status(200).set({
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    // A reverse proxy that buffers would hold the lines back until it has a page full.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  // A comment line now and then: proxies on the way close a connection that stays silent too long.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  try {
    for await (const line of stream) {
      if (closed.aborted) break;
      if (!res.write(`data: ${JSON.stringify(toLogLine(line, services))}\n\n`)) {
        await drainedOrClosed(res);
      }
    }
  } catch (err) {
    if (!closed.aborted) res.write(`event: error\ndata: ${JSON.stringify({ error: describe(err) })}\n\n`);
  } finally {
    clearInterval(keepAlive);
    res.end();
  }
}

/** Resolves when `res` can take more, or is gone; never rejects (nothing is left unhandled). */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
