import { withoutCredentials } from '@scopehive/shared';
import { SupervisorFailed, SupervisorLocked } from './errors.ts';

export interface SupervisorHttpOptions {
  /** `BALENA_SUPERVISOR_ADDRESS`, e.g. `http://127.0.0.1:48484`. */
  address: string;
  /** `BALENA_SUPERVISOR_API_KEY`. */
  apiKey: string;
  /** Until the answer's headers arrive; a followed log stream then lives until its signal aborts. */
  timeoutMs: number;
}

export interface SupervisorRequest {
  method: 'GET' | 'POST';
  /** Path and query, never the key. */
  path: string;
  body?: unknown;
  /** The caller's own end (a log stream closed by its reader). */
  signal?: AbortSignal;
}

/**
 * Send one request. `read: 'json'` gives the parsed body, `'none'` discards it (actions answer
 * "OK"), both within the deadline; `'stream'` gives the 2xx response as soon as its headers arrive,
 * with the deadline lifted, for the caller to read until its signal aborts.
 */
export interface SupervisorSend {
  (req: SupervisorRequest & { read: 'json' }): Promise<unknown>;
  (req: SupervisorRequest & { read: 'none' }): Promise<void>;
  (req: SupervisorRequest & { read: 'stream' }): Promise<Response>;
}

// The supervisor's own check (device-api/middleware/auth.ts) takes `(ApiKey|Bearer) (\w+)`.
const KEY_SHAPE = /^\w+$/;

/**
 * One place that talks HTTP to the supervisor: the key goes only into the Authorization header
 * (balena also accepts `?apikey=`, which would put it in URLs and proxy logs), each call has a
 * deadline, and every failure becomes a one-line error that has been scrubbed of the key.
 */
export function supervisorHttp(options: SupervisorHttpOptions): SupervisorSend {
  const { apiKey, timeoutMs } = options;
  const base = options.address.replace(/\/+$/, '');
  const shown = withoutCredentials(base);
  // Belt and braces: no message is built from the key, but a server or library could quote it.
  const scrub = (message: string) => {
    const line = message.split('\n')[0] ?? '';
    return apiKey === '' ? line : line.split(apiKey).join('***');
  };

  const send = async (req: SupervisorRequest & { read: 'json' | 'none' | 'stream' }): Promise<unknown> => {
    // A key that is not a header token would make fetch throw an error quoting the header value.
    if (!KEY_SHAPE.test(apiKey)) {
      throw new SupervisorFailed('BALENA_SUPERVISOR_API_KEY is empty or not a supervisor API key', 401);
    }
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const what = `${req.method} ${req.path.split('?')[0]}`;
    const failure = (err: unknown) => {
      if (req.signal?.aborted) return req.signal.reason;
      if (deadline.signal.aborted) {
        return new SupervisorFailed(`the supervisor did not answer ${what} within ${timeoutMs} ms`);
      }
      return new SupervisorFailed(scrub(`the supervisor at ${shown} is unreachable (${networkReason(err)})`));
    };
    try {
      const res = await fetch(`${base}${req.path}`, {
        method: req.method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: req.signal ? AbortSignal.any([deadline.signal, req.signal]) : deadline.signal,
      }).catch((err) => {
        throw failure(err);
      });
      if (!res.ok) throw refusal(what, res.status, scrub(answerText(await res.text().catch(() => ''))));
      if (req.read === 'stream') return res;
      const raw = await res.text().catch((err) => {
        throw failure(err);
      });
      if (req.read === 'none') return undefined;
      try {
        return JSON.parse(raw);
      } catch {
        throw new SupervisorFailed(`the supervisor answered ${what} with something that is not JSON`);
      }
    } finally {
      clearTimeout(timer);
    }
  };

  return send as SupervisorSend;
}

/** A non-2xx answer as the error callers sort on. */
function refusal(what: string, status: number, detail: string): Error {
  if (status === 423) {
    return new SupervisorLocked(
      `the supervisor refused ${what}: an update lock is held${detail && ` (${detail})`}`,
    );
  }
  if (status === 401) return new SupervisorFailed(`the supervisor refused the API key on ${what} (401)`, 401);
  return new SupervisorFailed(
    `the supervisor answered ${what} with ${status}${detail && `: ${detail}`}`,
    status,
  );
}

/** `fetch failed` says nothing: the reason is the cause's code (ECONNREFUSED, ECONNRESET …). */
function networkReason(err: unknown): string {
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The supervisor's error text: `{ status, message }` (v2), `{ Data, Error }` (v1) or plain text. */
function answerText(raw: string): string {
  let text = raw.trim();
  try {
    const json = JSON.parse(text) as { message?: unknown; Error?: unknown };
    const message = json.message ?? json.Error;
    if (typeof message === 'string') text = message;
  } catch {
    // plain text, as sendStatus and the service actions send
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
