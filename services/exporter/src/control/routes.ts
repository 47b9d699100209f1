/**
 * The control API's routes (under `/api/v1` on the exporter's port): reads for the view token,
 * actions for the admin token, every action audited. Errors are JSON `{ error }` in one line with
 * secrets scrubbed; nothing a caller sends can crash the exporter.
 */
import { type Logger, withoutSecrets } from '@scopehive/shared';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { SupervisorFailed, SupervisorLocked, SupervisorUnavailable } from '../supervisor/errors.ts';
import type { StateStatus, SupervisorClient } from '../supervisor/types.ts';
import type { Action, AuditLog } from './audit.ts';
import { caller, requireRole } from './auth.ts';
import { jobsInFlight } from './jobs.ts';
import { followLogs, linesWanted, readLogs } from './logs.ts';
import { settingsView } from './settings.ts';
import type { ControlTokens } from './tokens.ts';

export interface ControlRoutesOptions {
  supervisor: SupervisorClient;
  tokens: ControlTokens;
  audit: AuditLog;
  /** The environment the settings view shows (masked) and whose secrets are scrubbed from errors. */
  env: NodeJS.ProcessEnv;
  /** The inference service's HTTP port, for `jobsInFlight` when an update lock is held. */
  inferenceUrl: string;
  logger: Logger;
}

/** An answer other than 200, with its one line. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

export function controlRoutes(options: ControlRoutesOptions): Router {
  const { supervisor, tokens, audit, env, logger } = options;
  const secrets = [tokens.view, tokens.admin, env.BALENA_SUPERVISOR_API_KEY ?? ''];
  const describe = (err: unknown) =>
    withoutSecrets(String((err as Error)?.message ?? err).split('\n')[0], secrets);
  const router = express.Router();
  const view = requireRole(tokens, 'view');
  const admin = requireRole(tokens, 'admin');
  const body = express.json({ limit: '4kb', strict: true });

  router.get('/device', view, async (_req, res) => {
    const [device, state] = await Promise.all([supervisor.device(), supervisor.stateStatus()]);
    const downloading = state.images.filter((i) => i.status === 'Downloading');
    res.json({
      name: device.name,
      uuid: device.uuid,
      deviceType: device.deviceType,
      osVersion: device.osVersion,
      supervisorVersion: device.supervisorVersion,
      ipAddresses: device.ipAddresses,
      status: device.status,
      commit: device.commit,
      update: {
        pending: device.updatePending,
        downloading: downloading.length > 0,
        downloaded: device.updateDownloaded,
        failed: device.updateFailed,
        progress: downloading.map((i) => ({ service: i.serviceName, progress: i.downloadProgress ?? 0 })),
      },
    });
  });

  router.get('/services', view, async (_req, res) => {
    res.json({ services: servicesOf(await supervisor.stateStatus()) });
  });

  router.get('/logs', view, async (req, res) => {
    const lines = linesWanted(req.query.lines);
    if (lines === undefined) throw new Refusal(400, 'lines must be a whole number (1 to 5000)');
    const service = req.query.service === '' ? undefined : req.query.service;
    if (service !== undefined && typeof service !== 'string') throw new Refusal(400, 'one service at a time');
    const state = await supervisor.stateStatus();
    if (service !== undefined) knownService(state, service);
    const names = new Map(
      state.containers
        .filter((c) => c.containerId)
        .map((c) => [(c.containerId as string).slice(0, 12), c.serviceName] as const),
    );
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    const query = service === undefined ? { lines } : { service, lines };
    if (req.query.follow === '1' || req.query.follow === 'true') {
      await followLogs(supervisor, query, names, res, closed.signal, describe);
      return;
    }
    res.json({ lines: await readLogs(supervisor, query, names, closed.signal) });
  });

  router.get('/settings', view, (_req, res) => {
    res.json(settingsView(env));
  });

  /** An action: audited whatever comes of it, and only for the admin token. */
  const act = (action: Action, target: (req: Request) => string, run: (req: Request) => Promise<void>) => [
    (req: Request, res: Response, next: NextFunction) => {
      // Read now: the router puts the outer params back once the route is done.
      const what = target(req);
      res.on('close', () => {
        const { user = 'unknown', role } = caller(res) ?? {};
        void audit.record({
          user,
          role: role ?? 'none',
          action,
          target: what,
          status: res.statusCode,
        });
      });
      next();
    },
    admin,
    body,
    async (req: Request, res: Response) => {
      try {
        await run(req);
      } catch (err) {
        if (!(err instanceof SupervisorLocked)) throw err;
        const jobs = await jobsInFlight(options.inferenceUrl);
        const inFlight = jobs === null ? 'jobs in flight unknown' : `${jobs} job(s) in flight`;
        throw new Refusal(409, `an update lock is held (${inFlight}): force: true goes ahead anyway`, {
          jobsInFlight: jobs,
        });
      }
      res.json({ ok: true });
    },
  ];

  router.post(
    '/services/:name/restart',
    ...act(
      'restart',
      (req) => shortName(String(req.params.name)),
      async (req) => {
        const name = String(req.params.name);
        knownService(await supervisor.stateStatus(), name);
        await supervisor.restartService(name);
      },
    ),
  );
  for (const action of ['reboot', 'shutdown'] as const) {
    router.post(
      `/${action}`,
      ...act(
        action,
        () => 'device',
        async (req) => {
          const { confirm, force } = actionBody(req.body, true);
          const device = await supervisor.device();
          // An old supervisor without GET /v2/device/name and no name at init: '' must not confirm.
          if (device.name === '') {
            throw new Refusal(
              502,
              `the supervisor does not give the device's name, so a ${action} cannot be confirmed`,
            );
          }
          if (confirm !== device.name)
            throw new Refusal(400, `confirm must be the device's name to ${action}`);
          await supervisor[action](force);
        },
      ),
    );
  }
  router.post(
    '/update',
    ...act(
      'update',
      () => 'device',
      async (req) => supervisor.update(actionBody(req.body, false).force),
    ),
  );

  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'no such control route' });
  });
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, message, extra } = answerFor(err, describe);
    if (status >= 500 && !(err instanceof SupervisorFailed) && !(err instanceof SupervisorUnavailable)) {
      logger.error({ err: describe(err) }, 'control API: unexpected error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json({ error: message, ...extra });
  });
  return router;
}

/** Every service of the app: its container's state, or its image's while it has no container yet. */
function servicesOf(state: StateStatus) {
  const imageName = (serviceName: string, imageId: number | null) =>
    (
      state.images.find((i) => imageId !== null && i.imageId === imageId) ??
      state.images.find((i) => i.serviceName === serviceName)
    )?.name ?? null;
  const services = state.containers.map((c) => ({
    name: c.serviceName,
    status: c.status,
    image: imageName(c.serviceName, c.imageId),
    ...(c.createdAt ? { createdAt: c.createdAt } : {}),
  }));
  for (const i of state.images) {
    if (!services.some((s) => s.name === i.serviceName)) {
      services.push({ name: i.serviceName, status: i.status, image: i.name });
    }
  }
  return services.sort((a, b) => a.name.localeCompare(b.name));
}

function knownService(state: StateStatus, name: string): void {
  const known = new Set([...state.containers, ...state.images].map((s) => s.serviceName));
  if (!SERVICE_NAME.test(name) || !known.has(name)) {
    throw new Refusal(404, `no service named ${JSON.stringify(shortName(name))} on this device`);
  }
}

const shortName = (name: string) => (name.length > 64 ? `${name.slice(0, 64)}…` : name);

/** `{ confirm, force? }` of reboot and shutdown (`confirm` required), `{ force? }` of update. */
function actionBody(raw: unknown, needsConfirm: boolean): { confirm?: string; force: boolean } {
  const b = (raw ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw new Refusal(400, 'the body must be a JSON object');
  if (b.force !== undefined && typeof b.force !== 'boolean')
    throw new Refusal(400, 'force must be true or false');
  if (needsConfirm && typeof b.confirm !== 'string') {
    throw new Refusal(400, 'confirm (the device name, typed) is required');
  }
  return { confirm: b.confirm as string | undefined, force: b.force === true };
}

function answerFor(
  err: unknown,
  describe: (err: unknown) => string,
): { status: number; message: string; extra?: Record<string, unknown> } {
  if (err instanceof Refusal) return { status: err.status, message: err.message, extra: err.extra };
  if (err instanceof SupervisorUnavailable) return { status: 503, message: describe(err) };
  if (err instanceof SupervisorLocked) return { status: 409, message: describe(err) };
  if (err instanceof SupervisorFailed) {
    return { status: err.status === 404 ? 404 : 502, message: describe(err) };
  }
  // body-parser's errors carry their status: a broken or oversized JSON body.
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const type = (err as { type?: unknown }).type;
    const message = type === 'entity.too.large' ? 'the body is too large' : 'the body is not valid JSON';
    return { status, message };
  }
  return { status: 500, message: 'internal error in the control API' };
}
