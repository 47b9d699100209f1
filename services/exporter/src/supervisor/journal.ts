import { SupervisorFailed } from './errors.ts';

/**
 * POST /v2/journal-logs streams journalctl's output as it comes. We ask for `short-iso`:
 * `<time> <host> <identifier>[<pid>]: <message>`, one entry per line. A container's lines carry
 * its short (12-character) container id as identifier: that is the journald log driver's default
 * tag, and what the endpoint's `containerId` option matches (`journalctl -t`).
 */
export const JOURNAL_FORMAT = 'short-iso';

/** The length of the container id the journald log driver tags lines with. */
export const JOURNAL_ID_LENGTH = 12;

/**
 * The body's text, one line per item, until the stream ends or `signal` aborts (then the
 * iteration just ends). Leaving the loop early closes the connection.
 */
export async function* journalLines(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch {
        if (signal.aborted) return;
        throw new SupervisorFailed('the supervisor closed the journal stream');
      }
      if (chunk.done) break;
      rest += decoder.decode(chunk.value, { stream: true });
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') yield line.replace(/\r$/, '');
    }
    rest += decoder.decode();
    if (rest.trim() !== '') yield rest;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export interface JournalLine {
  /** ISO 8601, UTC. */
  time?: string;
  /** The syslog identifier: a unit's name, or a container's short id. */
  identifier?: string;
  message: string;
}

const SHORT_ISO =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ ([^\s[:]+)(?:\[\d+\])?: ?(.*)$/;

/**
 * One `short-iso` line in parts. Lines that are not entries (journalctl's `-- No entries --`,
 * a message's continuation) come back whole as the message.
 */
export function parseJournalLine(line: string): JournalLine {
  const m = SHORT_ISO.exec(line);
  if (!m) return { message: line };
  const [, stamp = '', identifier = '', message = ''] = m;
  const date = new Date(stamp.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(date.getTime())
    ? { identifier, message }
    : { time: date.toISOString(), identifier, message };
}
