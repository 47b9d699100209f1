/**
 * Every call the pages make: through the plugin's proxy routes (plugin.json), where Grafana's server adds
 * the control token and checks the role. The browser never holds a token.
 */
import { getBackendSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

export const PLUGIN_ID = 'scopehive-app';
export const PROXY = `/api/plugin-proxy/${PLUGIN_ID}`;

/** A refused or failed call, in one line; `body` keeps fields such as `jobsInFlight`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  params?: Record<string, string | number>;
  body?: unknown;
}

export async function call<T>(url: string, options: CallOptions = {}): Promise<T> {
  try {
    const res = await lastValueFrom(
      getBackendSrv().fetch<T>({
        url,
        method: options.method ?? 'GET',
        params: options.params,
        data: options.body,
        showErrorAlert: false,
        showSuccessAlert: false,
      }),
    );
    return res.data;
  } catch (err) {
    throw toApiError(err);
  }
}

/** A control API route through the plugin proxy: `route('services/ingest/restart')`. */
export const route = <T>(path: string, options?: CallOptions) => call<T>(`${PROXY}/${path}`, options);

/** The first line of whatever came back: the control API's `{ error }`, Grafana's `{ message }`, or the status. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = (err ?? {}) as { status?: number; statusText?: string; data?: unknown; message?: string };
  const body = e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {};
  const said = [body.error, body.message, e.statusText, e.message].find(
    (m): m is string => typeof m === 'string' && m.trim() !== '',
  );
  const status = typeof e.status === 'number' ? e.status : 0;
  const line = (said ?? (status ? `HTTP ${status}` : 'no answer')).split('\n')[0].trim();
  return new ApiError(status && !said ? line : `${line}${status ? ` (HTTP ${status})` : ''}`, status, body);
}
