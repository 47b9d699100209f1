/**
 * Puts the control API on the exporter's port under `/api/v1`. Off balena (no supervisor) every route
 * answers 503 in one line and no token is made: `npm start` gets no new files and nothing to guard.
 */
import type { ControlConfig, ServiceContext } from '@scopehive/shared';
import express from 'express';
import { SupervisorUnavailable } from '../supervisor/errors.ts';
import type { SupervisorClient } from '../supervisor/types.ts';
import { AuditLog } from './audit.ts';
import { controlRoutes } from './routes.ts';
import { type ControlTokens, loadTokens, tokenFolder } from './tokens.ts';

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
    unavailable(ctx, message);
    logger.info(`control API off: ${message}`);
    return;
  }
  const dir = tokenFolder(options.control, env, ctx.config.paths.data);
  let tokens: ControlTokens;
  try {
    tokens = await loadTokens({
      dir,
      view: options.control.viewToken,
      admin: options.control.adminToken,
      onGenerated: (which, file) => logger.info(`control ${which} token generated in ${file}`),
    });
  } catch (err) {
    // Device metrics and the latest image go on: only device management is off until the folder is fixed.
    const message = `control API unavailable: ${(err as Error).message.split('\n')[0]}`;
    unavailable(ctx, message);
    logger.error(message);
    return;
  }
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

/** Every control route answers 503 with `message`. */
function unavailable(ctx: Context, message: string): void {
  const router = express.Router();
  router.use((_req, res) => {
    res.status(503).json({ error: message });
  });
  ctx.routes((app) => app.use('/api/v1', router));
}
