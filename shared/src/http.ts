import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';

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
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', options.registry.contentType);
    res.send(await options.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    const h = options.health?.() ?? { ready: true };
    res.status(h.ready ? 200 : 503).json({ status: h.ready ? 'ok' : 'unhealthy', reason: h.reason });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await options.readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', reason: r.reason });
  });
  options.routes?.(app);
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port, options.host);
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : options.port });
    });
  });
}
