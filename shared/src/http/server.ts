import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { StartupError } from '../config/errors.ts';
import { sections } from '../config/sections.ts';

export interface Readiness {
  ready: boolean;
  /** Why not ready, in one line (shown on `/readyz`). */
  reason?: string;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** `/readyz` answers 200 only when this says ready. */
  readiness: () => Readiness | Promise<Readiness>;
  /** `/healthz` answers 503 when this says not ok (the process is up but cannot work: no data volume, say). */
  health?: () => Readiness;
  /** Adds service-specific routes before the server starts listening. */
  routes?: (app: Express) => void;
}

/** `/metrics`, `/healthz` and `/readyz` on one port; services add their own routes. */
export async function startHttpServer(options: HttpServerOptions): Promise<{ server: Server; port: number }> {
  // Loaded here, not at import: a process that serves no port (the CLI) saves about 0.09 s.
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', options.registry.contentType);
    res.send(await options.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    const h = options.health?.() ?? { ready: true };
    // Degraded (a full disk waited out) stays 200: a restart cannot cure it and would drop held jobs.
    const status = !h.ready ? 'unhealthy' : h.reason ? 'degraded' : 'ok';
    res.status(h.ready ? 200 : 503).json({ status, reason: h.reason });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await options.readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', reason: r.reason });
  });
  options.routes?.(app);
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, options)));
    server.listen(options.port, options.host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : options.port });
    });
  });
}

/**
 * Why the server could not listen, as one line naming the setting to change: a new user who meets a
 * busy port or a mistyped host needs that line, not a stack trace. Other errors are passed on as they are.
 */
function listenError(err: NodeJS.ErrnoException, at: { host: string; port: number }): Error {
  const host = `${sections.http.settings.host.env}=${at.host}`;
  const port = `${sections.http.settings.port.env}=${at.port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(
        `${port} is already in use by another program (on ${host}): choose a free port`,
      );
    case 'EACCES':
      return new StartupError(`${port} needs more privileges than this user has: choose a port above 1023`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return new StartupError(
        `${host} does not resolve to an address (${err.code}): use an address of this machine`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `${host} is not an address of this machine: use one it has, or 0.0.0.0 for all`,
      );
    default:
      return err;
  }
}
