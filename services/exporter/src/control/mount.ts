/**
 * Puts the control API on the exporter's port under `/api/v1`. Off balena (no supervisor) every route
 * answers 503 in one line and no token is made: `npm start` gets no new files and nothing to guard.
 */
import type { ServiceContext } from '@scopehive/shared';
import express from 'express';
import { SupervisorUnavailable } from '../supervisor/errors.ts';
import type { SupervisorClient } from '../supervisor/types.ts';
import { AuditLog } from './audit.ts';
import { controlRoutes } from './routes.ts';
import type { ControlConfig } from './shared-config.ts';
import { loadTokens, tokenFolder } from './tokens.ts';

export interface MountControlOptions {
  control: ControlConfig;
  /** `supervisorFromEnv(env)`: undefined off balena. */
  supervisor: SupervisorClient | undefined;
  /** Default: process.env. What the settings view shows (masked). */
  env?: NodeJS.ProcessEnv;
}

type Context = Pick<ServiceContext<'paths'>, 'config' | 'logger' | 'metrics' | 'routes'>;

export async function mountControlApi(ctx: Context, options: MountControlOptions): Promise<void> {
  const { logger } = ctx;
  const env = options.env ?? process.env;
  if (!options.supervisor) {
    const message = new SupervisorUnavailable().message;
    const offBalena = express.Router();
    offBalena.use((_req, res) => {
      res.status(503).json({ error: message });
    });
    ctx.routes((app) => app.use('/api/v1', offBalena));
    logger.info(`control API off: ${message}`);
    return;
  }
  const dir = tokenFolder(options.control, env, ctx.config.paths.data);
  const tokens = await loadTokens({
    dir,
    view: options.control.viewToken,
    admin: options.control.adminToken,
    onGenerated: (which, file) => logger.info(`control ${which} token generated in ${file}`),
  });
  const audit = new AuditLog({
    dir,
    logger,
    registry: ctx.metrics,
    secrets: [tokens.view, tokens.admin],
  });
  const router = controlRoutes({
    supervisor: options.supervisor,
    tokens,
    audit,
    env,
    inferenceUrl: options.control.inferenceUrl,
    logger,
  });
  ctx.routes((app) => app.use('/api/v1', router));
  logger.info({ tokenDir: dir, auditLog: audit.file }, 'control API on /api/v1');
}
