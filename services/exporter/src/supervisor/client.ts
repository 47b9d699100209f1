import { SupervisorFailed, SupervisorLocked, SupervisorUnavailable } from './errors.ts';
import { type SupervisorSend, supervisorHttp } from './http.ts';
import { JOURNAL_FORMAT, JOURNAL_ID_LENGTH, journalLines } from './journal.ts';
import {
  parseApplications,
  parseDevice,
  parseDeviceName,
  parseStateStatus,
  UnexpectedAnswer,
} from './parse.ts';
import type { ApplicationsState, JournalQuery, SupervisorClient } from './types.ts';

export type {
  ApplicationsState,
  AppService,
  AppState,
  ContainerStatus,
  ImageStatus,
  JournalQuery,
  StateStatus,
  SupervisorClient,
  SupervisorDevice,
} from './types.ts';
export { SupervisorFailed, SupervisorLocked, SupervisorUnavailable };

export interface SupervisorClientOptions {
  /** `BALENA_SUPERVISOR_ADDRESS`. */
  address: string;
  /** `BALENA_SUPERVISOR_API_KEY`: sent only as `Authorization: Bearer`, kept out of every message. */
  apiKey: string;
  /** `BALENA_APP_ID`; when absent it is read from GET /v2/applications/state, as balena documents. */
  appId?: number;
  /** `BALENA_DEVICE_UUID`. */
  deviceUuid?: string;
  /** `BALENA_DEVICE_TYPE`. */
  deviceType?: string;
  /** `BALENA_DEVICE_NAME_AT_INIT`: the name when GET /v2/device/name is missing (supervisor < 9.11). */
  deviceNameAtInit?: string;
  /** Per call, until the answer (a log stream: until its headers). Default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The supervisor client when this service runs on balena with the `io.balena.features.supervisor-api`
 * label (which sets the address and key); undefined elsewhere, e.g. under `npm start`.
 */
export function supervisorFromEnv(
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number } = {},
): SupervisorClient | undefined {
  const address = env.BALENA_SUPERVISOR_ADDRESS?.trim();
  if (!address) return undefined;
  const appId = Number(env.BALENA_APP_ID);
  return createSupervisorClient({
    address,
    apiKey: env.BALENA_SUPERVISOR_API_KEY ?? '',
    appId: Number.isSafeInteger(appId) && appId > 0 ? appId : undefined,
    deviceUuid: env.BALENA_DEVICE_UUID || undefined,
    deviceType: env.BALENA_DEVICE_TYPE || undefined,
    deviceNameAtInit: env.BALENA_DEVICE_NAME_AT_INIT || undefined,
    timeoutMs: opts.timeoutMs,
  });
}

/** Typed calls to balena's Supervisor API (supervisor docs/API.md); the key lives only in a closure. */
export function createSupervisorClient(options: SupervisorClientOptions): SupervisorClient {
  const send = supervisorHttp({
    address: options.address,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const json = <T>(path: string, parse: (body: unknown) => T) =>
    send({ method: 'GET', path, read: 'json' }).then(shaped(path, parse));
  const applications = () => json('/v2/applications/state', parseApplications);

  let appId: number | undefined = options.appId;
  const ensureAppId = async () => {
    if (appId !== undefined) return appId;
    const [app] = (await applications()).apps;
    if (!app) throw new SupervisorFailed('the supervisor reports no app on this device');
    appId = app.appId;
    return appId;
  };
  const serviceAction = (action: 'restart' | 'stop' | 'start') => async (serviceName: string) => {
    const id = await ensureAppId();
    await send({
      method: 'POST',
      path: `/v2/applications/${id}/${action}-service`,
      body: { serviceName },
      read: 'none',
    });
  };
  const deviceAction = (path: string) => (force: boolean) =>
    send({ method: 'POST', path, body: { force }, read: 'none' });

  return {
    async device() {
      const [state, name] = await Promise.all([json('/v1/device', (b) => b), deviceName(send)]);
      return parseDevice(state, {
        name: name ?? options.deviceNameAtInit ?? '',
        uuid: options.deviceUuid ?? null,
        deviceType: options.deviceType ?? null,
      });
    },
    stateStatus: () => json('/v2/state/status', parseStateStatus),
    applications: (): Promise<ApplicationsState> => applications(),
    restartService: serviceAction('restart'),
    stopService: serviceAction('stop'),
    startService: serviceAction('start'),
    reboot: deviceAction('/v1/reboot'),
    shutdown: deviceAction('/v1/shutdown'),
    update: deviceAction('/v1/update'),
    journalLogs: (q, signal) => journalLogs(send, q, signal),
  };
}

/** GET /v2/device/name, or null where the supervisor predates it (404). */
async function deviceName(send: SupervisorSend): Promise<string | null> {
  try {
    return shaped(
      '/v2/device/name',
      parseDeviceName,
    )(await send({ method: 'GET', path: '/v2/device/name', read: 'json' }));
  } catch (err) {
    if (err instanceof SupervisorFailed && err.status === 404) return null;
    throw err;
  }
}

async function journalLogs(
  send: SupervisorSend,
  q: JournalQuery,
  signal: AbortSignal,
): Promise<AsyncIterable<string>> {
  const body: Record<string, unknown> = {
    count: Math.max(1, Math.floor(q.lines)),
    follow: q.follow,
    format: JOURNAL_FORMAT,
  };
  if (q.service !== undefined)
    body.containerId = (await containerId(send, q.service)).slice(0, JOURNAL_ID_LENGTH);
  const res = await send({ method: 'POST', path: '/v2/journal-logs', body, signal, read: 'stream' });
  return journalLines(res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }), signal);
}

/** GET /v2/containerId?service=: the supervisor answers 503 for a service it does not run. */
async function containerId(send: SupervisorSend, service: string): Promise<string> {
  const path = `/v2/containerId?service=${encodeURIComponent(service)}`;
  let answer: unknown;
  try {
    answer = await send({ method: 'GET', path, read: 'json' });
  } catch (err) {
    if (err instanceof SupervisorFailed && err.status === 503) {
      throw new SupervisorFailed(`no container of service ${JSON.stringify(service)} on this device`, 404);
    }
    throw err;
  }
  const id = (answer as { containerId?: unknown } | null)?.containerId;
  if (typeof id !== 'string' || id === '') {
    throw new SupervisorFailed('the supervisor answered GET /v2/containerId without a containerId');
  }
  return id;
}

/** A parse error becomes the one-line SupervisorFailed callers expect. */
function shaped<T>(path: string, parse: (body: unknown) => T): (body: unknown) => T {
  return (body) => {
    try {
      return parse(body);
    } catch (err) {
      if (err instanceof UnexpectedAnswer) {
        throw new SupervisorFailed(`the supervisor answered GET ${path} unexpectedly: ${err.message}`);
      }
      throw err;
    }
  };
}
